from ninja import Schema
from pydantic import ConfigDict, model_validator


class InputSchema(Schema):
    """Request bodies: a JSON object with known fields only; a typo is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _must_be_object(cls, data):
        if not isinstance(data, dict) and not hasattr(data, "_obj"):
            raise ValueError("The body must be a JSON object.")
        return data

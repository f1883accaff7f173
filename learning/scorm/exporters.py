"""A small, real SCORM 1.2 package built in memory: a manifest and one page whose script finds the LMS's API,
calls LMSInitialize, LMSGetValue (to resume), LMSSetValue, LMSCommit and LMSFinish. The demo seeds it as a lesson
and the tests upload it, so both exercise the same player and commit path as a package from an authoring tool."""

import io
import zipfile

MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="{identifier}" version="1.0"
    xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
    xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org">
    <organization identifier="org">
      <title>{title}</title>
      <item identifier="item1" identifierref="res1"><title>{title}</title>{mastery}</item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="res1" type="webcontent" adlcp:scormtype="sco" href="{launch}">
      <file href="{launch}"/><file href="sco.js"/>
    </resource>
  </resources>
</manifest>
"""

PAGE = """<!DOCTYPE html>
<html lang="zh-hans"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>{title}</h1>
<p id="resumed" data-location="" data-suspend="">—</p>
<section id="page-1"><p>第一页：药品说明书的核心信息。</p><button type="button" id="next">下一页</button></section>
<section id="page-2" hidden><p>第二页：合规沟通要点。</p><button type="button" id="finish">完成学习</button></section>
<p id="done" hidden>已完成</p>
<script src="sco.js"></script>
</body></html>
"""

# The SCO's script: what an authoring tool's runtime does, in a few lines.
SCRIPT = """(function () {
  "use strict";
  function findAPI(win) {
    for (var i = 0; win && i < 10; i++) {
      if (win.API) { return win.API; }
      if (win.parent === win) { break; }
      win = win.parent;
    }
    return null;
  }
  var api = findAPI(window);
  if (!api) { document.getElementById("resumed").textContent = "NO API"; return; }
  api.LMSInitialize("");
  var location = api.LMSGetValue("cmi.core.lesson_location");
  var suspend = api.LMSGetValue("cmi.suspend_data");
  var resumed = document.getElementById("resumed");
  resumed.dataset.location = location;
  resumed.dataset.suspend = suspend;
  resumed.textContent = location ? "resume:" + location + "|" + suspend : "start";
  function show(page) {
    document.getElementById("page-1").hidden = page !== 1;
    document.getElementById("page-2").hidden = page !== 2;
  }
  if (location === "page-2") { show(2); }
  if (api.LMSGetValue("cmi.core.lesson_status") === "not attempted") {
    api.LMSSetValue("cmi.core.lesson_status", "incomplete");
  }
  document.getElementById("next").addEventListener("click", function () {
    api.LMSSetValue("cmi.core.lesson_location", "page-2");
    api.LMSSetValue("cmi.suspend_data", "visited=1,2");
    api.LMSSetValue("cmi.core.exit", "suspend");
    api.LMSCommit("");
    show(2);
  });
  document.getElementById("finish").addEventListener("click", function () {
    api.LMSSetValue("cmi.core.lesson_status", "{final_status}");
    api.LMSSetValue("cmi.core.score.raw", "{score}");
    api.LMSSetValue("cmi.core.score.min", "0");
    api.LMSSetValue("cmi.core.score.max", "100");
    api.LMSSetValue("cmi.core.exit", "");
    api.LMSCommit("");
    api.LMSFinish("");
    document.getElementById("done").hidden = false;
  });
})();
"""


def scorm_sample_package(*, title: str = "合规沟通微课", identifier: str = "engage-sample", launch: str = "index.html",
                         final_status: str = "passed", score: str = "90", mastery_score: str | None = "80",
                         extra: dict[str, bytes] | None = None) -> bytes:
    """The package's ZIP bytes. `extra` adds or replaces files (name -> bytes), for tests of bad packages."""
    mastery = f"<adlcp:masteryscore>{mastery_score}</adlcp:masteryscore>" if mastery_score else ""
    files = {
        "imsmanifest.xml": MANIFEST.format(identifier=identifier, title=title, launch=launch,
                                           mastery=mastery).encode(),
        launch: PAGE.format(title=title).encode(),
        "sco.js": SCRIPT.replace("{final_status}", final_status).replace("{score}", score).encode(),
    }
    files.update(extra or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()

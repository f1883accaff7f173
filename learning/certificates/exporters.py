"""Certificate files: the PDF (Chinese text in reportlab's built-in CID font STSong-Light, as the sign-in sheet
does: no font file to ship) with a QR code of the public verification URL, and the QR alone as SVG."""

import io

import qrcode
import qrcode.image.svg
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas as pdf_canvas

from learning.certificates.models import Certificate

PDF_FONT = "STSong-Light"


def _qr_png(data: str) -> bytes:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    code.add_data(data)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out, format="PNG")
    return out.getvalue()


def qr_svg(data: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2).save(out)
    return out.getvalue()


def _date(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d")


def certificate_pdf(certificate: Certificate, *, verify_url: str) -> bytes:
    """One landscape A4 page: title, holder, course or curriculum, issue and expiry dates (Beijing time), the
    code, and the QR of `verify_url`."""
    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    out = io.BytesIO()
    width, height = landscape(A4)
    page = pdf_canvas.Canvas(out, pagesize=(width, height))
    page.setTitle(f"{_('Certificate')} {certificate.title}")
    page.setAuthor("Engage")
    page.setLineWidth(2)
    page.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    page.setFont(PDF_FONT, 30)
    page.drawCentredString(width / 2, height - 45 * mm, _("Certificate of completion"))
    page.setFont(PDF_FONT, 22)
    page.drawCentredString(width / 2, height - 70 * mm, certificate.holder_name)
    page.setFont(PDF_FONT, 14)
    page.drawCentredString(width / 2, height - 85 * mm, _("has completed"))
    page.setFont(PDF_FONT, 20)
    page.drawCentredString(width / 2, height - 100 * mm, certificate.title)
    page.setFont(PDF_FONT, 12)
    lines = [
        f"{_('Issued')}：{_date(certificate.issued_at)}",
        f"{_('Valid until')}：{_date(certificate.expires_at)}",
        f"{_('Verification code')}：{certificate.code}",
    ]
    for i, line in enumerate(lines):
        page.drawString(30 * mm, 50 * mm - i * 8 * mm, line)
    page.setFont(PDF_FONT, 9)
    page.drawString(30 * mm, 22 * mm, _("Scan the QR code or open %(url)s to check this certificate.")
                    % {"url": verify_url})
    size = 45 * mm
    page.drawImage(ImageReader(io.BytesIO(_qr_png(verify_url))), width - 30 * mm - size, 25 * mm, size, size)
    page.showPage()
    page.save()
    return out.getvalue()

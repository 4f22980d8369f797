"""The PDF of a transcript snapshot: rendered once, signed with the snapshot's key, and stored.

The Celery task `risk.tasks.snapshot_pdf` renders it ahead; an export asked for first renders it
there and then. Running twice is safe: the second run finds the stored PDF.
"""

from uuid import UUID

from django.db import transaction
from django.template.loader import render_to_string

from risk import signing
from risk.models import TranscriptSnapshot
from risk.transcripts import snapshot_sign


def snapshot_pdf(*, snapshot_id: UUID | str) -> bytes:
    """Render (once) and store the PDF of a snapshot. Safe to run twice: the second run finds it."""
    # WeasyPrint and pyHanko cost a server process tens of MB: loaded only to render a PDF.
    from weasyprint import HTML

    snapshot = TranscriptSnapshot.objects.select_related("case").get(pk=snapshot_id)
    if snapshot.pdf:
        return bytes(snapshot.pdf)
    snapshot = snapshot_sign(snapshot=snapshot)
    key = signing.SigningKey.objects.get(key_id=snapshot.key_id)  # one key for the JSON and the PDF
    if key.revoked_from is not None or not signing.key_file(key.key_id).exists():
        key = signing.current_key()  # revoked, or retired with its private half put away
    context = {"snapshot": snapshot, "content": snapshot.content, "pdf_key": key}
    html = render_to_string("risk/transcript_pdf.html", context)
    rendered = HTML(string=html).write_pdf()
    assert rendered is not None
    from risk.pdf_signing import sign_pdf

    pdf = sign_pdf(rendered, key=key, snapshot_id=str(snapshot.pk), sha256=snapshot.sha256)
    with transaction.atomic():
        locked = TranscriptSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        if not locked.pdf:
            locked.pdf = pdf
            locked.save(update_fields=["pdf"])
        return bytes(locked.pdf)

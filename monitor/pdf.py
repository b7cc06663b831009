"""Reading the text of PDF documents.

Owns: turning a fetched PDF into its title and text, with pypdf, and saying clearly why a
document cannot be read (not a PDF, encrypted, broken, no text layer). Pure: takes bytes,
returns values. Must not import fetch, store, deliver, pipeline, scheduler or cli.

The title is the document's own (its metadata) when it has one that says something, else its
first line of text. At most :data:`MAX_PAGES` pages and :data:`MAX_TEXT` characters are read;
the parse worker's deadline bounds the time a hostile document can take.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass

from monitor.errors import DocumentError, NotAPdf, PdfEmpty, PdfEncrypted

#: most pages of one document read
MAX_PAGES = 300
#: most characters of text kept of one document
MAX_TEXT = 100_000

_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")
# metadata titles that name the file or the tool, not the document
_NO_TITLE = re.compile(
    r"^(untitled|document\d*|microsoft word\b.*|.*\.(docx?|pdf|indd|rtf))$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class PdfText:
    """What a PDF says: its title, its text, and how many pages it has."""

    title: str
    text: str
    pages: int
    #: pages past :data:`MAX_PAGES`, not read
    pages_cut: int = 0


def is_pdf(body: bytes) -> bool:
    """Whether ``body`` starts like a PDF (``%PDF-`` within its first kilobyte, as readers
    allow)."""
    return b"%PDF-" in body[:1024]


def read_pdf(body: bytes) -> PdfText:
    """The title and text of a PDF. Raises a :class:`~monitor.errors.DocumentError` saying
    why when it cannot be read."""
    if not is_pdf(body):
        start = body[:40].decode("latin-1").strip()
        raise NotAPdf(f"not a PDF: the body starts with {start!r}, not %PDF-")
    # pypdf is loaded when a PDF is read (in a parse worker), not by every process that may
    # read one: it is 13 MB of memory
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError

    # pypdf logs every damaged cross-reference table it repairs; the outcome is ours to say
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(body), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # many PDFs are encrypted only against editing
            except (NotImplementedError, DependencyError) as exc:
                raise PdfEncrypted(f"the PDF is encrypted ({exc})") from None
            if not opened:
                raise PdfEncrypted("the PDF is encrypted and needs a password to open")
        count = len(reader.pages)
        lines: list[str] = []
        size = 0
        for page in reader.pages[:MAX_PAGES]:
            for line in (page.extract_text() or "").splitlines():
                folded = _SPACE.sub(" ", line).strip()
                if folded:
                    lines.append(folded)
                    size += len(folded) + 1
            if size >= MAX_TEXT:
                break
        meta_title = _meta_title(reader)
    except FileNotDecryptedError:
        raise PdfEncrypted("the PDF is encrypted and needs a password to open") from None
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DocumentError(f"the PDF is broken: {type(exc).__name__}: {exc}"[:500]) from None
    except RecursionError:
        raise DocumentError(
            "the PDF is broken: its objects refer to each other endlessly"
        ) from None
    text = "\n".join(lines)[:MAX_TEXT]
    if not text.strip():
        raise PdfEmpty(
            f"the PDF ({count} page{'s' if count != 1 else ''}) holds no text: a scan without "
            "a text layer, or images only"
        )
    title = meta_title or lines[0][:300]
    return PdfText(title=title, text=text, pages=count, pages_cut=max(0, count - MAX_PAGES))


def _meta_title(reader: object) -> str | None:
    try:
        meta = reader.metadata  # type: ignore[attr-defined]
        title = str(meta.title).strip() if meta and meta.title else ""
    except Exception:  # metadata is optional: a damaged dictionary means no title
        return None
    title = _SPACE.sub(" ", title)
    if len(title) < 3 or _NO_TITLE.match(title):
        return None
    return title[:300]

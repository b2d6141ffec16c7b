"""A cited page as its reader saw it: the original's page as an image, with the boxes of the
quoted text found on it (from the PDF's text layer, or from OCR's words on a scan)."""

"""Template tags of the member pages: ``klubb_legal`` gives the addresses of the privacy policy and the terms."""

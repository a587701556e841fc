"""One router per part of the HTTP door; ``web/app.py`` includes them all."""

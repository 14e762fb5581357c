"""Style names shared by the screens and widgets, for Content spans."""

from __future__ import annotations

# Secondary text (labels, hints, "checking..."). Not "$text-muted": as a Content style it
# has no background to blend with and renders pure white, brighter than normal text.
MUTED = "$foreground-muted"

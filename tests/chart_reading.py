"""Reading a chart of `demo.charts` back: what each bar says and how long it is drawn (its CSS width)."""

from html.parser import HTMLParser


class _Bars(HTMLParser):
    def __init__(self):
        super().__init__()
        self.bars, self.rest, self.title, self._in_title = [], None, "", False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if "bar" in classes:
            width = float(attrs["style"].split("width:")[1].strip().rstrip(";%"))
            self.bars.append((attrs["data-word"], float(attrs["data-p"]), width))
        elif "chart-rest" in classes:
            self.rest = float(attrs["data-p"])
        self._in_title = "chart-title" in classes

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag):
        self._in_title = False


def read_chart(page: str) -> tuple[str, list[tuple[str, float, float]], float | None]:
    """(title, [(word, p, width in %)], the "(other words)" mass or None) of a chart's HTML."""
    parser = _Bars()
    parser.feed(page)
    return parser.title, parser.bars, parser.rest

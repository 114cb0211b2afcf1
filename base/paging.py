"""Pages of long lists that cost the same at a million rows as at a thousand.

A list page is read for its newest (or most urgent) rows; older ones are found by a search or
a filter. So a list counts at most LIST_CAP rows (one COUNT over a LIMIT, served by the list's
index) and offers the pages within them; past that it says "more than 1,000" and asks for a
search. The page links are a short window around the current page, never one per page.

A page number that is not a number, zero, negative or past the end gives the nearest page
that exists, with `page.notice` saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.core.paginator import Page, Paginator

LIST_CAP = 1000  # rows a list counts and pages through; a search or filter finds the rest


class CappedPaginator(Paginator):
    """Django's Paginator with a count that stops at `cap` rows (`capped` says if it did)."""

    def __init__(self, object_list, per_page: int, cap: int = LIST_CAP) -> None:
        super().__init__(object_list, per_page)
        self.cap = cap
        self.capped = False

    @cached_property
    def count(self) -> int:
        # SELECT count(*) FROM (... LIMIT cap + 1): never more than cap + 1 rows read.
        found = self.object_list[: self.cap + 1].count()
        self.capped = found > self.cap
        return min(found, self.cap)

    @property
    def count_label(self) -> str:
        """The count as the page says it: "25", or "More than 1,000" when it stopped."""
        return f"More than {self.cap:,}" if self.capped else f"{self.count:,}"


@dataclass(frozen=True)
class PageLink:
    """One entry of the pagination list: a page number, or a gap (number None)."""

    number: int | None
    current: bool = False


def page_window(current: int, last: int) -> list[PageLink]:
    """The first and last pages, the current one and its neighbours, with gaps between."""
    numbers = sorted({1, last, *range(max(current - 1, 1), min(current + 1, last) + 1)})
    links: list[PageLink] = []
    for number in numbers:
        if links and links[-1].number is not None and number - links[-1].number > 1:
            links.append(PageLink(None))
        links.append(PageLink(number, current=number == current))
    return links


def list_page(rows, number: str | None, *, per_page: int, noun: str = "rows") -> Page:
    """The page `number` (as typed in ?page=) of `rows`, with `window` and `notice` set."""
    paginator = CappedPaginator(rows, per_page, cap=LIST_CAP)
    typed = (number or "").strip()
    wanted = int(typed) if typed.lstrip("-").isdigit() and len(typed) < 10 else None
    page = paginator.page(min(max(wanted or 1, 1), paginator.num_pages))
    page.window = page_window(page.number, paginator.num_pages)
    page.notice = ""
    if typed and wanted != page.number:
        if wanted is not None and wanted > page.number and paginator.capped:
            page.notice = (
                f"Only the first {paginator.cap:,} {noun} are listed: search or filter to find "
                f"the others. Showing page {page.number}."
            )
        else:
            page.notice = f"There is no page {typed[:20]}: showing page {page.number}."
    return page

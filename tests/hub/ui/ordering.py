"""What a sorted dashboard table should show, worked out from the API's rows, the rows a
page shows, read from its HTML, and the pages a table's "next" links lead through."""

from __future__ import annotations

import html as html_module
import re
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

T = TypeVar("T")


def sql_order(
    rows: Sequence[T], key: Callable[[T], Any], tiebreak: Callable[[T], Any], descending: bool
) -> list[T]:
    """A column sorted in SQL: empty values last either way, descending the exact reverse
    of ascending (the tiebreaker too)."""
    present = sorted((r for r in rows if key(r) is not None), key=lambda r: (key(r), tiebreak(r)))
    absent = sorted((r for r in rows if key(r) is None), key=tiebreak)
    return present[::-1] + absent[::-1] if descending else present + absent


def python_order(
    rows: Sequence[T], key: Callable[[T], Any], tiebreak: Callable[[T], Any], descending: bool
) -> list[T]:
    """A column sorted from report rows: empty values last, ties in tiebreak order."""
    ordered = sorted(rows, key=tiebreak)
    present = [r for r in ordered if key(r) is not None]
    return sorted(present, key=key, reverse=descending) + [r for r in ordered if key(r) is None]


def table(page: str, table_id: str) -> str:
    """The inside of the table `table_id` on the page, tables nested in it included."""
    start = re.search(rf'<table id="{table_id}"[^>]*>', page)
    assert start, page
    depth, at = 1, start.end()
    for tag in re.finditer(r"<(/?)table\b", page[at:]):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return page[at : at + tag.start()]
    raise AssertionError(f"table {table_id} is not closed")


def rows(page: str, table_id: str, attribute: str = "data-key") -> list[str]:
    """Each row's `attribute`, in the order the table shows them."""
    return re.findall(rf'<tr[^>]* {attribute}="([^"]+)"', table(page, table_id))


def header_links(page: str, table_id: str) -> dict[str, str]:
    """Column → the query of its header's sort link, in the table `table_id`."""
    head = re.search(r"<thead>(.*?)</thead>", table(page, table_id), re.S)
    assert head, page
    return {
        column: html_module.unescape(href)
        for href, column in re.findall(r'<a href="([^"]+)" data-sort="([^"]+)">', head.group(1))
    }


def next_page(page: str, url: str, pager: str | None = None) -> str | None:
    """Where the page's "next" link leads (the one in the pager with id `pager` when
    given), or None on the last page."""
    if pager is not None:
        found = re.search(rf'<div class="pager" id="{pager}">(.*?)</div>', page, re.S)
        page = found.group(1) if found else ""
    link = re.search(r'<a rel="next" href="([^"]+)"', page)
    return urlsplit(url).path + html_module.unescape(link.group(1)) if link else None


async def walk(client: httpx.AsyncClient, url: str, pager: str | None = None) -> AsyncIterator[str]:
    """Each page's HTML from `url` on, following the "next" links to the last page."""
    at: str | None = url
    while at is not None:
        response = await client.get(at)
        assert response.status_code == 200, response.text
        yield response.text
        at = next_page(response.text, at, pager)

"""A paginator for admin changelists over big tables: it counts no further than a cap.

Django's admin asks its paginator for ``count`` on every changelist view, with
the filters and the search applied; an exact ``COUNT(*)`` over a million
archived bans reads every matching row. This one reads the keys of at most
``cap + 1`` matching rows (one sliced query, ``… LIMIT cap + 1``) and says
"10,000+" when there are more. The pages past the cap are not offered: a
narrower filter reaches those rows, and an OFFSET that deep would walk every
row it skips anyway.

When every matching row fits on one page, the keys it read are the whole
result: ``BigTableChangeList`` (``bangui.admin``) then lists the page by
primary key instead of scanning for the same rows a second time.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

# The same cap as the history page's (``jails.history.selectors.COUNT_CAP``, which
# this core package may not import); the archive's admin takes it from there.
DEFAULT_COUNT_CAP = 10_000


class CappedCount(int):
    """A count that stopped at its cap: an ``int`` for arithmetic, "10,000+" as text.

    The admin templates print ``cl.result_count`` as it is; ``__html__`` keeps
    Django's number formatting from turning it back into a plain number.
    """

    def __str__(self) -> str:
        return f"{int(self):,}+"

    def __html__(self) -> str:
        return str(self)


class CappedPaginator(Paginator):
    """A Paginator whose ``count`` reads at most ``cap + 1`` rows of a QuerySet."""

    cap: ClassVar[int] = DEFAULT_COUNT_CAP
    # The primary keys of all matching rows, once ``count`` found they fit on one page.
    all_keys: list[Any] | None = None

    @cached_property
    def count(self) -> int:
        objects: Any = self.object_list
        if not isinstance(objects, QuerySet):
            return super().count
        keys = list(objects.order_by().values_list("pk", flat=True)[: self.cap + 1])
        if len(keys) <= self.per_page:
            self.all_keys = keys
        return CappedCount(self.cap) if len(keys) > self.cap else len(keys)

    @property
    def capped(self) -> bool:
        return isinstance(self.count, CappedCount)

"""The pagination every list of the shop API uses (``DEFAULT_PAGINATION_CLASS``)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """DRF's page numbers, except that a ``page`` or ``page_size`` that is not a whole number from 1 is an error.

    DRF reads an empty ``page=`` as page 1 and a bad ``page_size`` as the default; a shop's broken paging loop
    should hear about it instead of fetching the first page forever.
    """

    page_size_query_param = "page_size"
    max_page_size = 200
    invalid_page_message = "There is no page {page_number} in this list."

    def get_page_number(self, request: Any, paginator: Any) -> str | int:
        _whole_number_or_absent(request, self.page_query_param, "Give a page number from 1.")
        return super().get_page_number(request, paginator)

    def get_page_size(self, request: Any) -> int | None:
        _whole_number_or_absent(request, self.page_size_query_param, "Give a whole number from 1 to 200.")
        return super().get_page_size(request)


def _whole_number_or_absent(request: Any, name: str, message: str) -> None:
    raw = request.query_params.get(name)
    if raw is not None and not (raw.isascii() and raw.isdigit() and int(raw) >= 1):
        raise exceptions.ValidationError({name: [exceptions.ErrorDetail(message, code="invalid")]})

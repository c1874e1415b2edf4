"""The shop REST API (``/api/v1/``): HTTP only.

A view here parses the request (a serializer from ``serializers``), calls one service or selector, and renders
the result. Business rules, queries and writes live in the services and ``loyalty.selectors``; domain errors
(``loyalty.errors``) carry no HTTP status, ``errors`` maps their stable codes to one.

Modules, one per resource: ``orders`` (orders and refunds), ``members`` (members and their consents),
``rewards`` (vouchers), ``events`` (points for actions), ``points`` (the earning preview). Around them: ``urls``
(included by ``config.urls``),
``errors`` (the exception handler, the error shape, the code-to-status mapping and ``error_status_register``),
``parsers`` (the size-limited JSON parser and body helpers), ``replies`` (answering a recording), ``pagination``
and ``schema`` (drf-spectacular helpers and the postprocessing hook). ``serializers`` is the input and output
shapes, by resource.

This ``__init__`` imports nothing: DRF loads ``parsers.LimitedJSONParser`` by dotted path while
``rest_framework.views`` is still being imported, so importing the package must not import any view.
Import from the modules: ``loyalty.api.errors``, ``loyalty.api.parsers``, ``loyalty.api.serializers``.
"""

"""Klubb's URLs plus ``/bench/bare/``: the least any endpoint of this stack costs, for ``bench/api_load.py``.

The bare endpoint parses the same JSON through DRF and makes one INSERT and one UPDATE in a transaction, on
two tables the benchmark creates; it has no authentication and exists only under ``bench.settings``.
"""

from __future__ import annotations

import json
import os
import zlib

from django.db import connection, transaction
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

MEMBERS = int(os.environ.get("KLUBB_BENCH_MEMBERS", "1"))


class BareView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def post(self, request: Request) -> Response:
        payload = request.data
        row = zlib.crc32(str(payload.get("member", {}).get("email", "")).encode()) % (MEMBERS + 1)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_bare_event (payload) VALUES (%s) RETURNING id", [json.dumps(payload)])
            event_id = cursor.fetchone()[0]
            cursor.execute("UPDATE bench_bare_counter SET n = n + 1 WHERE id = %s RETURNING n", [row])
            count = cursor.fetchone()[0]
        return Response({"event_id": event_id, "count": count}, status=201)


urlpatterns = [
    path("bench/bare/", BareView.as_view()),
    path("", include("config.urls")),
]

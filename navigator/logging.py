"""JSON log lines. Messages are written by our code, which never logs medical data;
request logs carry method, path template, status and timing only."""

import json
import logging


class JSONFormatter(logging.Formatter):
    FIELDS = ("method", "route", "status", "duration_ms", "user_id", "request_id", "task_id")

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for field in self.FIELDS:
            if hasattr(record, field):
                data[field] = getattr(record, field)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)

"""English date formats: day month year, a 24-hour clock, and the time zone named
("10 Dec 2026 12:00 CET"), so a time is never read in the wrong zone. Times are shown in the
reader's zone: the family's on the portal, the coordinator's own in the admin."""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y H:i T"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y H:i T"

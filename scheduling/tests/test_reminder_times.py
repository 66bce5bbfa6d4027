"""Sending at a sensible local hour, in each recipient's own time zone."""

import datetime as dt
from zoneinfo import ZoneInfo

from scheduling.reminders import offset_in_zone, sensible_send_time

UTC = dt.UTC


def _utc(*a):
    return dt.datetime(*a, tzinfo=UTC)


def test_a_daytime_moment_is_kept():
    t = _utc(2026, 5, 4, 10, 0)  # 13:00 in Moscow
    assert sensible_send_time(t, "Europe/Moscow") == t


def test_a_night_moment_moves_to_the_next_nine_oclock_local():
    # 01:00 UTC is 09:00 in Shanghai but 22:00 the evening before in Sao Paulo.
    t = _utc(2026, 5, 4, 1, 0)
    assert sensible_send_time(t, "Asia/Shanghai") == t
    sp = sensible_send_time(t, "America/Sao_Paulo").astimezone(ZoneInfo("America/Sao_Paulo"))
    assert (sp.date(), sp.hour, sp.minute) == (dt.date(2026, 5, 4), 9, 0)


def test_an_early_morning_moment_moves_to_nine_the_same_day():
    t = _utc(2026, 5, 4, 2, 30)  # 05:30 Moscow
    ms = sensible_send_time(t, "Europe/Moscow").astimezone(ZoneInfo("Europe/Moscow"))
    assert (ms.date(), ms.hour) == (dt.date(2026, 5, 4), 9)


def test_a_reminder_is_never_pushed_past_the_milestone_but_goes_the_evening_before():
    due = dt.datetime(2026, 5, 4, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # 01:00 UTC
    # For a family in Sao Paulo that is 22:00 on 3 May: the next 09:00 would be after the milestone.
    sp = sensible_send_time(due, "America/Sao_Paulo", not_after=due).astimezone(ZoneInfo("America/Sao_Paulo"))
    assert (sp.date(), sp.hour) == (dt.date(2026, 5, 2), 19)
    assert sp < due


def test_wall_clock_offsets_survive_the_london_clock_change():
    # Due 10:00 London on 31 March (BST, UTC+1); a week before is 10:00 GMT (UTC+0), 24 March.
    due = dt.datetime(2026, 3, 31, 10, 0, tzinfo=ZoneInfo("Europe/London"))
    week_before = offset_in_zone(due, -7, "Europe/London")
    assert week_before == _utc(2026, 3, 24, 10, 0)
    assert week_before.astimezone(ZoneInfo("Europe/London")).hour == 10
    assert due.astimezone(UTC) == _utc(2026, 3, 31, 9, 0)


def test_nine_oclock_after_the_clock_change_is_eight_utc():
    # Scheduled in GMT, sent in BST: the next 09:00 local after the change is 08:00 UTC.
    night = _utc(2026, 3, 29, 23, 0)  # 00:00 BST on 30 March
    assert sensible_send_time(night, "Europe/London") == _utc(2026, 3, 30, 8, 0)
    night_before = _utc(2026, 3, 27, 23, 0)  # 23:00 GMT on 27 March
    assert sensible_send_time(night_before, "Europe/London") == _utc(2026, 3, 28, 9, 0)

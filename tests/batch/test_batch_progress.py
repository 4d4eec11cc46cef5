"""Progress displays: one plain line per night off a terminal, a rich bar on one."""

from __future__ import annotations

import io

from lmdetect.batch.progress import PlainProgress, RichProgress, format_hms, make_progress
from lmdetect.batch.worker import NightOutcome


def outcome(nid: str, status: str, error: str = "") -> NightOutcome:
    return NightOutcome(night_id=nid, participant="", night="", input_path=f"{nid}.lmr", status=status,  # type: ignore[arg-type]
                        error_type="FormatError" if error else "", error=error)


def test_plain_lines_carry_status_elapsed_and_eta():
    buf = io.StringIO()
    p = PlainProgress(buf)
    p.start(3)
    p.tally.t0 -= 10.0  # ten seconds have passed
    p.update(outcome("a", "done"))
    p.update(outcome("b", "failed", "b.lmr, byte 0: not an lmdetect recording\nmore"))
    p.update(outcome("c", "skipped"))
    p.close()
    lines = buf.getvalue().splitlines()
    assert lines[0] == "batch: 3 job(s)"
    assert lines[1].startswith("[1/3] done    a  elapsed 0:00:10  ETA 0:00:20")
    assert lines[2].endswith("(FormatError: b.lmr, byte 0: not an lmdetect recording)")
    assert "ETA 0:00:00" in lines[3] and lines[3].startswith("[3/3] skipped c")
    assert lines[4] == "batch: 1 done, 1 skipped, 1 failed in 0:00:10"


def test_eta_ignores_the_speed_of_skipped_nights():
    p = PlainProgress(io.StringIO())
    p.start(10)
    p.tally.t0 -= 60.0
    for i in range(4):
        p.update(outcome(f"s{i}", "skipped"))
    p.update(outcome("d", "done"))
    assert abs(p.tally.eta() - 60.0 * 5) < 1.0  # 60 s per processed night, 5 left


def test_format_hms():
    assert format_hms(3725.4) == "1:02:05" and format_hms(None) == "--:--:--" and format_hms(float("nan")) == "--:--:--"


def test_make_progress_is_plain_off_a_terminal_and_rich_on_one():
    assert isinstance(make_progress(io.StringIO()), PlainProgress)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    buf = Tty()
    p = make_progress(buf)
    assert isinstance(p, RichProgress)
    p.start(2)
    p.update(outcome("x[1]", "failed", "bad [bold]thing[/bold]"))
    p.update(outcome("y", "done"))
    p.close()
    text = buf.getvalue()
    assert "x[1]: bad [bold]thing[/bold]" in text and "2/2" in text

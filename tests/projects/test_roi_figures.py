"""projects/roi/figures.py against hand-computed values. Pure functions: no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from projects.roi.figures import MonthTotals, add_months, months_between, roi_figures, sum_series, to_reporting

JAN, FEB, MAR, APR, MAY = (dt.date(2026, m, 1) for m in range(1, 6))
RATE, SHARE = D("0.08"), D("0.8")


def figures(series, *, decay_months=3, discount_rate=RATE, as_of=None):
    return roi_figures(series, discount_rate=discount_rate, decay_share=SHARE, decay_months=decay_months, as_of=as_of)


def m(month, pv=0, pc=0, av=0, ac=0, logged=None):
    return MonthTotals(month, D(pv), D(pc), D(av), D(ac), logged)


# Planned 100 value / 50 cost a month (Jan-Mar), 100 value in May, nothing in April.
# Actuals: Jan cost 120; Feb value 90, cost 10; Mar value 60, cost 10.
MIXED = [m(JAN, 100, 50, 0, 120), m(FEB, 100, 50, 90, 10), m(MAR, 100, 50, 60, 10), m(MAY, 100, 0)]


def test_cumulative_value_cost_net_and_roi_of_a_mixed_series():
    f = figures(MIXED)
    assert (f.first_month, f.last_month, f.actuals_through) == (JAN, MAY, MAR)
    assert f.cumulative_value == D("150.00")  # 0 + 90 + 60
    assert f.cumulative_cost == D("140.00")  # 120 + 10 + 10
    assert f.net_value == D("10.00")
    assert f.roi_pct == D("7.14")  # 10 / 140 × 100 = 7.142857…
    assert f.planned_value == D("400.00")
    assert f.planned_cost == D("150.00")
    assert f.planned_net_value == D("250.00")
    assert f.planned_roi_pct == D("166.67")  # 250 / 150 × 100
    assert f.planned_value_to_date == D("300.00")  # Jan-Mar only
    assert f.planned_cost_to_date == D("150.00")


def test_payback_is_the_first_month_the_cumulative_net_reaches_zero():
    f = figures(MIXED)
    # Net: Jan -120, Feb -40, Mar +10.
    assert f.payback_month == MAR
    assert f.payback_after_months == 3


def test_npv_discounts_each_month_at_the_twelfth_root_of_the_annual_rate():
    f = figures(MIXED)
    # -120 + 80 / 1.08^(1/12) + 50 / 1.08^(2/12) = -120 + 79.48856 + 49.36274 = 8.8513
    assert f.npv == D("8.85")
    # Plan: 50 + 50 / 1.08^(1/12) + 50 / 1.08^(2/12) + 0 (April) + 100 / 1.08^(4/12)
    #     = 50 + 49.68035 + 49.36274 + 0 + 97.46726 = 246.51035
    assert f.planned_npv == D("246.51")


def test_npv_at_a_zero_rate_is_the_net_value():
    assert figures(MIXED, discount_rate=D("0")).npv == D("10.00")


def test_realised_vs_planned_compares_value_over_the_months_with_actuals():
    assert figures(MIXED).realised_vs_planned_pct == D("50.00")  # 150 / 300


def test_cumulative_points_stop_actuals_at_the_last_actual_month():
    points = figures(MIXED).months
    assert [p.month for p in points] == [JAN, FEB, MAR, APR, MAY]  # April filled in with zeros
    assert [p.actual_net for p in points] == [D("-120.00"), D("-40.00"), D("10.00"), None, None]
    assert [p.planned_value for p in points] == [D("100.00"), D("200.00"), D("300.00"), D("300.00"), D("400.00")]


def test_no_entries_gives_zeros_and_no_ratios():
    f = figures([])
    assert (f.first_month, f.actuals_through, f.payback_month, f.payback_after_months) == (None, None, None, None)
    assert (f.cumulative_value, f.cumulative_cost, f.net_value, f.npv) == (D("0.00"),) * 4
    assert (f.roi_pct, f.planned_roi_pct, f.realised_vs_planned_pct) == (None, None, None)
    assert (f.value_decay, f.decay_run_months, f.decay_since) == (False, 0, None)
    assert f.months == ()


def test_a_plan_without_actuals_has_no_realised_figures():
    f = figures([m(JAN, 100, 50), m(FEB, 100, 50)])
    assert f.actuals_through is None
    assert f.realised_vs_planned_pct is None
    assert f.roi_pct is None
    assert f.planned_net_value == D("100.00")
    assert not f.value_decay


def test_cost_only_is_a_negative_net_value_and_minus_100_percent_roi():
    f = figures([m(JAN, ac=100), m(FEB, ac=50)])
    assert f.cumulative_value == D("0.00")
    assert f.net_value == D("-150.00")
    assert f.roi_pct == D("-100.00")
    assert f.payback_month is None
    assert f.realised_vs_planned_pct is None  # nothing was planned
    assert f.npv == D("-149.68")  # -100 - 50 / 1.08^(1/12) = -100 - 49.68035


def test_payback_never_reached_while_the_net_stays_negative():
    f = figures([m(JAN, av=10, ac=100), m(FEB, av=30, ac=20), m(MAR, av=40, ac=20)])
    # Net: -90, -80, -60.
    assert f.net_value == D("-60.00")
    assert f.roi_pct == D("-42.86")  # -60 / 140 × 100 = -42.857…
    assert f.payback_month is None
    assert f.payback_after_months is None


def test_value_that_covers_cost_from_the_first_month_pays_back_in_that_month():
    f = figures([m(JAN, av=200, ac=100)])
    assert (f.payback_month, f.payback_after_months) == (JAN, 1)
    assert f.roi_pct == D("100.00")


def test_value_without_any_cost_never_pays_back_and_has_no_roi():
    f = figures([m(JAN, av=200)])
    assert f.payback_month is None
    assert f.roi_pct is None
    assert f.net_value == D("200.00")


def test_a_later_dip_does_not_move_the_payback_month():
    f = figures([m(JAN, av=100, ac=100), m(FEB, ac=50)])
    assert f.payback_month == JAN
    assert f.net_value == D("-50.00")


def test_value_decay_needs_the_configured_number_of_consecutive_short_months():
    # Plan 100 a month; 80 (= 0.8 × 100) is not short, 79.99 is.
    series = [m(JAN, 100, av=100), m(FEB, 100, av=70), m(MAR, 100, av="79.99"), m(APR, 100, av=0, ac=5)]
    f = figures(series, decay_months=3)
    assert (f.value_decay, f.decay_run_months, f.decay_since) == (True, 3, FEB)
    assert figures(series, decay_months=4).value_decay is False


def test_a_month_at_the_share_ends_the_run():
    series = [m(JAN, 100, av=50), m(FEB, 100, av=80), m(MAR, 100, av=50)]
    f = figures(series, decay_months=2)
    assert (f.value_decay, f.decay_run_months, f.decay_since) == (False, 1, MAR)


def test_a_month_without_planned_value_ends_the_run():
    series = [m(JAN, 100, av=10), m(FEB, 0, av=10), m(MAR, 100, av=10)]
    assert figures(series, decay_months=2).decay_run_months == 1


def test_decay_is_judged_up_to_the_latest_month_with_actuals():
    # April and May are planned but not logged yet: the run ends at March.
    series = [m(JAN, 100, av=10), m(FEB, 100, av=10), m(MAR, 100, av=10), m(APR, 100), m(MAY, 100)]
    f = figures(series, decay_months=3)
    assert f.actuals_through == MAR
    assert (f.value_decay, f.decay_run_months, f.decay_since) == (True, 3, JAN)


def test_an_explicitly_logged_zero_counts_as_an_actual_month():
    series = [m(JAN, 100, av=10), m(FEB, 100, av=0, logged=True)]
    f = figures(series, decay_months=2)
    assert f.actuals_through == FEB
    assert f.value_decay is True


def test_as_of_ignores_actuals_after_it():
    series = [m(JAN, av=100, ac=50), m(FEB, av=100, ac=500)]
    f = figures(series, as_of=dt.date(2026, 1, 20))
    assert f.actuals_through == JAN
    assert f.net_value == D("50.00")


def test_rows_of_one_month_are_added_and_portfolios_sum_projects():
    a = [m(JAN, 100, av=50), m(MAR, 100, av=50)]
    b = [m(JAN, 10, ac=5), m(FEB, pc=20)]
    merged = sum_series(a, b)
    assert [(t.month, t.planned_value, t.planned_cost, t.actual_value, t.actual_cost) for t in merged] == [
        (JAN, D(110), D(0), D(50), D(5)),
        (FEB, D(0), D(20), D(0), D(0)),
        (MAR, D(100), D(0), D(50), D(0)),
    ]
    f = figures(a + b)
    assert f.cumulative_value == D("100.00")
    assert f.cumulative_cost == D("5.00")


@pytest.mark.parametrize(
    ("amount", "rate", "expected"),
    [
        ("1000.00", "0.9", "900.00"),
        ("10.00", "1.23456789", "12.35"),  # 12.3456789
        ("0.01", "0.5", "0.01"),  # 0.005 rounds half up
        ("0.01", "0.49999999", "0.00"),
        ("999999999999.99", "1.5", "1499999999999.99"),  # 1499999999999.985 → .99
    ],
)
def test_fx_conversion_rounds_half_up_to_cents(amount, rate, expected):
    assert to_reporting(D(amount), D(rate)) == D(expected)


def test_month_arithmetic():
    assert add_months(dt.date(2026, 11, 1), 3) == dt.date(2027, 2, 1)
    assert add_months(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)
    assert months_between(dt.date(2025, 12, 1), dt.date(2026, 2, 1)) == 2

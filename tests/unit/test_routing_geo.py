"""Great-circle distances and the bounding box of a radius search (domain/geo.py)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInputError
from domain.geo import (
    HALF_CIRCUMFERENCE_KM,
    GeoPoint,
    bounding_box,
    check_point,
    check_radius,
    haversine_km,
)

BERLIN = GeoPoint(52.5200, 13.4050)
PARIS = GeoPoint(48.8566, 2.3522)


def test_known_city_distances() -> None:
    assert haversine_km(BERLIN, PARIS) == pytest.approx(878, abs=2)
    assert haversine_km(BERLIN, BERLIN) == 0
    assert haversine_km(GeoPoint(0, 0), GeoPoint(0, 180)) == pytest.approx(HALF_CIRCUMFERENCE_KM)


def test_the_box_splits_across_the_antimeridian() -> None:
    box = bounding_box(GeoPoint(0, 179.9), 50)
    assert len(box.longitude_ranges) == 2
    assert box.contains(GeoPoint(0, -179.9)) and box.contains(GeoPoint(0, 179.5))
    assert not box.contains(GeoPoint(0, 178))


def test_near_a_pole_the_box_spans_every_longitude() -> None:
    box = bounding_box(GeoPoint(89.9, 0), 50)
    assert box.longitude_ranges == ((-180.0, 180.0),)
    assert box.contains(GeoPoint(89.9, 180)) and box.max_latitude == 90


points = st.builds(GeoPoint, st.floats(-90, 90), st.floats(-180, 180))


@settings(max_examples=500, deadline=None)
@given(points, points, st.floats(0, 25_000))
def test_the_box_never_leaves_out_a_point_within_the_radius(
    center: GeoPoint, other: GeoPoint, radius: float
) -> None:
    if haversine_km(center, other) <= radius * (1 - 1e-9):
        assert bounding_box(center, radius).contains(other)


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [(90.5, 0, "near.latitude"), (-91, 0, "near.latitude"), (0, 180.01, "near.longitude"),
     (math.nan, 0, "near.latitude"), (0, math.inf, "near.longitude")],
)
def test_coordinates_off_the_globe_are_refused_naming_the_field(
    latitude: float, longitude: float, field: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_point(latitude, longitude, "near")
    assert refused.value.field == field


@pytest.mark.parametrize("radius", [-0.1, math.nan, math.inf])
def test_a_negative_or_infinite_radius_is_refused(radius: float) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_radius(radius)
    assert refused.value.field == "radiusKm"

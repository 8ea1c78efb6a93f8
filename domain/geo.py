"""Points on the globe, great-circle distance, and the box that bounds a radius search.

The box lets the database drop far-away locations with plain range conditions on indexed
latitude/longitude columns; the exact haversine distance then decides what is in range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from domain.errors import InvalidInputError

# Mean Earth radius (IUGG), the usual choice for haversine distances.
EARTH_RADIUS_KM = 6371.0088
HALF_CIRCUMFERENCE_KM = math.pi * EARTH_RADIUS_KM


@dataclass(frozen=True, slots=True)
class GeoPoint:
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """Latitude range and one longitude range, or two where the box crosses the antimeridian."""

    min_latitude: float
    max_latitude: float
    longitude_ranges: tuple[tuple[float, float], ...]

    def contains(self, point: GeoPoint) -> bool:
        return self.min_latitude <= point.latitude <= self.max_latitude and any(
            low <= point.longitude <= high for low, high in self.longitude_ranges)


def check_point(latitude: float, longitude: float, field: str) -> GeoPoint:
    """A point on the globe, or InvalidInputError naming `field.latitude` / `field.longitude`."""
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise InvalidInputError("latitude must be between -90 and 90", field=f"{field}.latitude")
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise InvalidInputError(
            "longitude must be between -180 and 180", field=f"{field}.longitude")
    return GeoPoint(latitude, longitude)


def check_radius(radius_km: float, field: str = "radiusKm") -> float:
    if not (math.isfinite(radius_km) and radius_km >= 0):
        raise InvalidInputError("radius must be a finite number of km, 0 or more", field=field)
    return radius_km


def haversine_km(a: GeoPoint, b: GeoPoint) -> float:
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(center: GeoPoint, radius_km: float) -> BoundingBox:
    """The smallest lat/lon box holding every point within `radius_km` of `center`.

    Follows J. P. Matuschek, "Finding Points Within a Distance of a Latitude/Longitude Using
    Bounding Coordinates": near a pole the box spans every longitude; across the antimeridian
    it splits in two."""
    # A metre of slack: the box is only a pre-filter, and rounding must never shrink it.
    angular = (radius_km + 0.001) / EARTH_RADIUS_KM
    lat = math.radians(center.latitude)
    low, high = lat - angular, lat + angular
    if angular >= math.pi or low <= -math.pi / 2 or high >= math.pi / 2:
        return BoundingBox(math.degrees(max(low, -math.pi / 2)),
                           math.degrees(min(high, math.pi / 2)), ((-180.0, 180.0),))
    spread = math.degrees(math.asin(math.sin(angular) / math.cos(lat)))
    west, east = center.longitude - spread, center.longitude + spread
    ranges: tuple[tuple[float, float], ...]
    if west < -180:
        ranges = ((west + 360, 180.0), (-180.0, east))
    elif east > 180:
        ranges = ((west, 180.0), (-180.0, east - 360))
    else:
        ranges = ((west, east),)
    return BoundingBox(math.degrees(low), math.degrees(high), ranges)

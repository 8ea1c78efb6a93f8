"""GraphQL types for sources of reported levels: vendor pushes and source configuration."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta
from typing import Self

import strawberry

from domain.location import Location as DomainLocation
from domain.source import FieldMapping, Paging, ReportedLevel, SourceMode, VendorSource
from schema.types import Location

strawberry.enum(SourceMode, description="PUSH: the vendor calls pushVendorLevels. "
                "PULL: stockgraph polls the source's HTTP API; the location is read-only here.")
strawberry.enum(Paging, name="VendorPaging",
                description="How a source's level listing is paged.")
_DEFAULT = FieldMapping()


@strawberry.input(name="VendorLevelInput")
class VendorLevelInput:
    sku: strawberry.ID
    available: int
    as_of: datetime | None = strawberry.field(
        default=None, description="When the vendor counted; the push's arrival if absent.")

    def to_domain(self) -> ReportedLevel:
        return ReportedLevel(str(self.sku), self.available, self.as_of)


@strawberry.input(name="VendorFieldMappingInput",
                  description="Where the source's JSON keeps each value.")
class VendorFieldMappingInput:
    sku_field: str = _DEFAULT.sku_field
    level_field: str = _DEFAULT.level_field
    as_of_field: str | None = _DEFAULT.as_of_field
    items_path: str = strawberry.field(
        default=_DEFAULT.items_path,
        description="Dotted path to the list of lines; empty when the body is the list.")
    list_path: str = _DEFAULT.list_path
    item_path: str = strawberry.field(
        default=_DEFAULT.item_path, description="Per-SKU look-up; must contain {sku}.")
    paging: Paging = _DEFAULT.paging
    page_param: str = _DEFAULT.page_param
    page_size_param: str = _DEFAULT.page_size_param
    page_size: int = _DEFAULT.page_size
    cursor_field: str = _DEFAULT.cursor_field
    cursor_param: str = _DEFAULT.cursor_param

    def to_domain(self) -> FieldMapping:
        return FieldMapping(**{f.name: getattr(self, f.name) for f in fields(FieldMapping)})


@strawberry.input(name="VendorSourceInput")
class VendorSourceInput:
    location_id: strawberry.ID
    mode: SourceMode
    base_url: str | None = strawberry.field(default=None, description="PULL: the API root.")
    auth_header: str | None = None
    auth_value: str | None = strawberry.field(
        default=None, description="A secret: stored, never returned and never logged.")
    mapping: VendorFieldMappingInput | None = None
    poll_interval_seconds: float = 60.0
    max_age_seconds: float = strawberry.field(
        default=900.0, description="An older level is not sold.")
    deadline_ms: int = strawberry.field(
        default=300, description="The longest a query waits for an on-demand refresh.")

    def to_domain(self) -> VendorSource:
        return VendorSource(
            location_id=str(self.location_id), mode=self.mode, base_url=self.base_url,
            auth_header=self.auth_header, auth_value=self.auth_value,
            mapping=self.mapping.to_domain() if self.mapping else FieldMapping(),
            poll_interval=timedelta(seconds=self.poll_interval_seconds),
            max_age=timedelta(seconds=self.max_age_seconds),
            deadline=timedelta(milliseconds=self.deadline_ms),
        )


@strawberry.type(name="VendorFieldMapping")
class VendorFieldMapping:
    sku_field: str
    level_field: str
    as_of_field: str | None
    items_path: str
    list_path: str
    item_path: str
    paging: Paging
    page_param: str
    page_size_param: str
    page_size: int
    cursor_field: str
    cursor_param: str

    @classmethod
    def from_domain(cls, m: FieldMapping) -> Self:
        return cls(**{f.name: getattr(m, f.name) for f in fields(FieldMapping)})


@strawberry.type(name="VendorSource")
class VendorSourceType:
    location: Location
    mode: SourceMode
    base_url: str | None
    auth_header: str | None
    has_auth_value: bool
    mapping: VendorFieldMapping
    poll_interval_seconds: float
    max_age_seconds: float
    deadline_ms: int
    circuit: str = strawberry.field(description="CLOSED, OPEN or HALF_OPEN (this instance).")
    last_error: str | None = strawberry.field(
        description="Why the last read of this source failed on this instance, if it did.")

    @classmethod
    def from_domain(cls, s: VendorSource, loc: DomainLocation, circuit: str,
                    last_error: str | None) -> Self:
        return cls(
            location=Location.from_domain(loc), mode=s.mode, base_url=s.base_url,
            auth_header=s.auth_header, has_auth_value=s.auth_value is not None,
            mapping=VendorFieldMapping.from_domain(s.mapping),
            poll_interval_seconds=s.poll_interval.total_seconds(),
            max_age_seconds=s.max_age.total_seconds(),
            deadline_ms=round(s.deadline.total_seconds() * 1000),
            circuit=circuit, last_error=last_error,
        )


@strawberry.type(name="VendorPushResult")
class VendorPushResult:
    accepted: int
    rejected: list[str] = strawberry.field(
        description="One message per line not taken, naming its SKU and why.")

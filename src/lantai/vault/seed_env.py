"""The default 八防 list of watched quantities (监测类型). Archives edit, add or retire kinds
later; the seed only adds kinds that are missing, never overwrites an archive's edits.

Used by migration 0003 (with the historical model) and again after every flush of the test
database (``post_migrate``, see ``vault.signals``).
"""

from __future__ import annotations

# code, name, unit, guard (八防), binary, physical_min, physical_max, sort_order
KINDS = [
    ("temperature", "温度", "℃", "防高温", False, -40.0, 85.0, 10),
    ("humidity", "相对湿度", "%RH", "防潮", False, 0.0, 100.0, 20),
    ("smoke", "烟感", "", "防火", True, 0.0, 1.0, 30),
    ("water", "水浸", "", "防水", True, 0.0, 1.0, 40),
    ("door", "门磁", "", "防盗", True, 0.0, 1.0, 50),
    ("light", "光照", "lx", "防光", False, 0.0, 200000.0, 60),
    ("uv", "紫外", "μW/lm", "防光", False, 0.0, 10000.0, 65),
    ("pm25", "PM2.5", "μg/m³", "防尘", False, 0.0, 2000.0, 70),
    ("gas", "有害气体", "ppm", "防有害气体", False, 0.0, 1000.0, 80),
    ("pest", "虫情（诱捕数）", "只", "防虫", False, 0.0, 100000.0, 90),
    ("rodent", "鼠情（诱捕数）", "只", "防鼠", False, 0.0, 10000.0, 95),
]


def seed_kinds(sensor_kind_model) -> int:
    """Add the default kinds that are missing; return how many were added."""
    existing = set(sensor_kind_model.objects.values_list("code", flat=True))
    missing = [
        sensor_kind_model(
            code=code,
            name=name,
            unit=unit,
            guard=guard,
            binary=binary,
            physical_min=low,
            physical_max=high,
            sort_order=order,
        )
        for code, name, unit, guard, binary, low, high, order in KINDS
        if code not in existing
    ]
    sensor_kind_model.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)

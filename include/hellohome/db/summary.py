"""What is where: row counts per table and source."""
from __future__ import annotations

from sqlalchemy import text

from hellohome.config import Settings
from hellohome.db.engine import get_engine

COUNTS = text("""
    SELECT 'properties', source, COUNT(*) FROM properties GROUP BY source
    UNION ALL SELECT 'users', source, COUNT(*) FROM users GROUP BY source
    UNION ALL SELECT 'user_profiles', '*', COUNT(*) FROM user_profiles
    UNION ALL SELECT 'property_images', '*', COUNT(*) FROM property_images
    UNION ALL SELECT 'inquiries', '*', COUNT(*) FROM inquiries
""")


def table_counts(settings: Settings) -> list[tuple[str, str, int]]:
    with get_engine(settings, "readonly").connect() as conn:
        return [(t, s, int(n)) for t, s, n in conn.execute(COUNTS)]

"""Imports every ORM model so Base.metadata is complete (Alembic, tests)."""

from app import jobs  # noqa: F401
from app.audit import models as audit_models  # noqa: F401
from app.calls import models as calls_models  # noqa: F401
from app.deals import models as deals_models  # noqa: F401
from app.library import models as library_models  # noqa: F401
from app.privacy import models as privacy_models  # noqa: F401
from app.sop import models as sop_models  # noqa: F401
from app.transcripts import models as transcripts_models  # noqa: F401
from app.users import models as users_models  # noqa: F401

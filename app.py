"""The Chalice app: registers blueprints, schedules and queue handlers. No logic lives here."""
from chalice import Chalice, Rate

from chalicelib.api import auth, campaigns, roster, system, units
from chalicelib.config import settings

app = Chalice(app_name="cchc")
app.api.binary_types.extend(roster.BINARY)

for blueprint in (system.bp, auth.bp, campaigns.bp, units.bp, roster.bp):
    app.register_blueprint(blueprint)


@app.schedule(Rate(5, unit=Rate.MINUTES), name="close-phases")
def close_phases(event):
    """Announce closed phases to their units (the locks themselves are enforced on every write)."""
    from chalicelib.runtime import runtime
    from chalicelib.services import campaigns as campaign_service

    return {"announced": campaign_service.close_due_phases(runtime.now(), runtime.random_bytes)}


settings()  # fail fast on bad configuration at cold start

"""Staff: roles, availability, capacity, languages and queues, and live console sockets."""

from django.conf import settings
from django.db import models


def default_capacity() -> int:
    return int(settings.CHAT["DEFAULT_CAPACITY"])


def default_languages() -> list[str]:
    return ["en"]


class StaffProfile(models.Model):
    class Role(models.TextChoices):
        ADVISOR = "advisor", "Advisor"
        SUPERVISOR = "supervisor", "Supervisor"

    class Availability(models.TextChoices):
        ON_SHIFT = "on_shift", "On shift"
        AWAY = "away", "Away"
        OFF_SHIFT = "off_shift", "Off shift"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.ADVISOR)
    display_name = models.CharField(
        max_length=50, help_text="The first name a visitor sees, e.g. 'Sam'. Never a surname."
    )
    availability = models.CharField(max_length=10, choices=Availability.choices, default=Availability.OFF_SHIFT)
    capacity = models.PositiveSmallIntegerField(default=default_capacity)
    languages = models.JSONField(default=default_languages, blank=True)
    queues = models.ManyToManyField("chat.Queue", blank=True, related_name="staff")
    # Set when the last live console socket went away; cleared when one comes back.
    disconnected_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.display_name} ({self.get_role_display()})"

    @property
    def is_supervisor(self) -> bool:
        return self.role == self.Role.SUPERVISOR


class StaffConnection(models.Model):
    """One open console socket. `seen_at` is refreshed by the client's pings, so sockets of a
    process that died without closing them stop counting after the heartbeat timeout."""

    profile = models.ForeignKey(StaffProfile, on_delete=models.CASCADE, related_name="connections")
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.profile_id} on {self.channel_name}"


class CannedResponse(models.Model):
    """A ready-made reply, found in the composer by typing `/` and the shortcut. Without an
    owner it belongs to the whole team."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="canned_responses"
    )
    shortcut = models.SlugField(max_length=40)
    title = models.CharField(max_length=100)
    text = models.TextField(max_length=4000)

    class Meta:
        ordering = ["shortcut"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "shortcut"], name="canned_shortcut_unique_per_owner"),
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class ContactStatistic(models.Model):
    """What the reports count about one finished conversation. Nothing here identifies anyone
    and nothing is deleted by the retention purge, so the figures outlive the message text."""

    conversation = models.OneToOneField(
        "chat.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="statistic"
    )
    contact_at = models.DateTimeField(db_index=True)
    weekday = models.PositiveSmallIntegerField()
    hour = models.PositiveSmallIntegerField()
    queue = models.CharField(max_length=50, blank=True)
    about = models.CharField(max_length=30, blank=True)
    language = models.CharField(max_length=16, blank=True)
    returning = models.BooleanField(default=False)
    in_danger = models.BooleanField(default=False)
    answered = models.BooleanField(default=False)
    wait_seconds = models.PositiveIntegerField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    close_reason = models.CharField(max_length=20, blank=True)
    outcome = models.CharField(max_length=50, blank=True)
    # Where the contact came in; the product has one channel today (its web chat).
    channel = models.CharField(max_length=30, default="web_chat")
    # The advisor's end-of-chat record (chat.contact_record): slugs of chat's ServiceGiven and
    # ReferralDestination rows, and what the visitor chose to say about themselves, if anything.
    recorded = models.BooleanField(default=False)
    services = models.JSONField(default=list, blank=True)
    referrals = models.JSONField(default=list, blank=True)
    gender = models.CharField(max_length=20, blank=True)
    age_band = models.CharField(max_length=10, blank=True)
    said_returning = models.CharField(max_length=3, blank=True)

    class Meta:
        ordering = ["contact_at"]

    def __str__(self) -> str:
        return f"contact on {self.contact_at:%Y-%m-%d %H:%M}"


from agents.audit_models import AuditChainHead, AuditEvent  # noqa: E402, F401  (registered with this app)

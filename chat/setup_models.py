"""The helpline's own set-up, which staff edit in the admin: the triage flow (questions and their
options), the directory of other services by region, the opening hours (schedules, their
hours and holidays), and the choices of the end-of-chat record (services given, referral
destinations). Models of the chat app, in a module of their own (chat/models.py imports
them)."""

from datetime import time

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class TriageQuestion(models.Model):
    """One question the triage bot asks before a human. The flow is the active questions in order.

    A question's `role` tells the server what its answer does; questions with the role "other"
    are asked and shown to the advisor, nothing more. Wording may be given per language in
    `translations` ({"cy": {"prompt": "...", "help_text": "..."}}); without it the shipped
    translations of the default wording apply, then the wording as written."""

    class Role(models.TextChoices):
        DANGER = "danger", "Immediate danger (an option marked 'emergency' shows the emergency number)"
        SAFETY = "safety", "Safe to talk now"
        ABOUT = "about", "Who the chat is about (routes to a queue)"
        LANGUAGE = "language", "Language (options are the languages offered)"
        HELP = "help", "Kind of help (the first answer is the chat's topic)"
        REGION = "region", "Region (options are the directory's regions)"
        OTHER = "other", "Other (shown to the advisor)"

    ROLES_WITH_OWN_OPTIONS = (Role.LANGUAGE, Role.REGION)

    key = models.SlugField(max_length=40, unique=True, help_text="The name its answer is stored under.")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.OTHER)
    order = models.PositiveSmallIntegerField(default=0)
    prompt = models.CharField(max_length=300)
    help_text = models.CharField(max_length=500, blank=True)
    multiple = models.BooleanField(default=False, help_text="The visitor may choose any number of answers.")
    required = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    translations = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["role"], condition=Q(active=True) & ~Q(role="other"), name="one_active_question_per_role"
            )
        ]

    def __str__(self) -> str:
        return self.prompt


class TriageOption(models.Model):
    question = models.ForeignKey(TriageQuestion, on_delete=models.CASCADE, related_name="options")
    value = models.SlugField(max_length=40)
    label = models.CharField(max_length=200)
    order = models.PositiveSmallIntegerField(default=0)
    emergency = models.BooleanField(
        default=False,
        help_text="Choosing it shows the emergency number at once and queues the chat at the highest priority.",
    )
    caution = models.BooleanField(
        default=False, help_text="Choosing it tells the advisor it may not be safe for the visitor to talk."
    )
    translations = models.JSONField(default=dict, blank=True, help_text='Labels by language: {"cy": "..."}')

    class Meta:
        ordering = ["order", "pk"]
        constraints = [models.UniqueConstraint(fields=["question", "value"], name="triage_option_value_unique")]

    def __str__(self) -> str:
        return self.label


class Region(models.Model):
    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(default=0)
    translations = models.JSONField(default=dict, blank=True, help_text='Names by language: {"cy": "..."}')

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class DirectoryEntry(models.Model):
    """A service a visitor can contact. Entries without a region are national.

    A refuge's or shelter's address is never stored here, let alone shown: only its contact
    route (the model refuses an address on a refuge)."""

    class Kind(models.TextChoices):
        HELPLINE = "helpline", _("Helpline")
        REFUGE = "refuge", _("Refuge or shelter")
        ADVICE = "advice", _("Advice and support")
        LEGAL = "legal", _("Legal advice")
        HOUSING = "housing", _("Housing")
        POLICE = "police", _("Police")
        HEALTH = "health", _("Health")
        CHILDREN = "children", _("Children's services")
        PERPETRATOR = "perpetrator", _("Support to change behaviour")

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.ADVICE)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.CASCADE, related_name="entries")
    description = models.CharField(max_length=500, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    hours = models.CharField(max_length=200, blank=True, help_text="As a person would say it: 'Mon-Fri 9:00-17:00'.")
    open_24h = models.BooleanField(default=False)
    website = models.URLField(blank=True)
    address = models.CharField(max_length=300, blank=True, help_text="Only a public address. Never a refuge's.")
    contact_route = models.CharField(
        max_length=300, blank=True, help_text="How to reach it, e.g. 'through the national helpline'."
    )
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "directory entries"
        constraints = [
            models.CheckConstraint(condition=~Q(kind="refuge") | Q(address=""), name="refuge_has_no_address"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.kind == self.Kind.REFUGE and self.address:
            raise ValidationError({"address": "A refuge's address is never given out; give its contact route."})
        if self.kind == self.Kind.REFUGE and not (self.contact_route or self.phone):
            raise ValidationError({"contact_route": "Say how a person reaches this refuge."})


class Schedule(models.Model):
    """The helpline's time zone (one row). Opening hours and holidays are read in it."""

    time_zone = models.CharField(max_length=64, default="Europe/London")

    def __str__(self) -> str:
        return self.time_zone

    def clean(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from django.core.exceptions import ValidationError

        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValidationError({"time_zone": "Not a known time zone, e.g. Europe/London."}) from error


class OpeningHours(models.Model):
    """One opening period on a weekday (0 Monday ... 6 Sunday). A day may have several."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name_plural = "opening hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.opens is not None and self.closes is not None and self.closes != time(0) and self.closes <= self.opens:
            raise ValidationError({"closes": "Closes after it opens (00:00 for midnight)."})


class Holiday(models.Model):
    """A date the chat is closed, or open for other hours than usual."""

    date = models.DateField(unique=True)
    name = models.CharField(max_length=100)
    opens = models.TimeField(null=True, blank=True, help_text="Empty: closed all day.")
    closes = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if (self.opens is None) != (self.closes is None):
            raise ValidationError("Give both opening and closing times, or neither for closed all day.")
        if self.opens and self.closes and self.closes != time(0) and self.closes <= self.opens:
            raise ValidationError({"closes": "Closes after it opens (00:00 for midnight)."})


class RecordOption(models.Model):
    """One choice in the end-of-chat record, edited in the admin. The slug is what the
    statistics keep, so a relabelled choice keeps its history; turn one off rather than
    delete it once it has been used."""

    slug = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=80)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        abstract = True
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label


class ServiceGiven(RecordOption):
    """A service an advisor can give in a chat (legal information, emotional support...)."""

    class Meta(RecordOption.Meta):
        verbose_name = "service given"
        verbose_name_plural = "services given"


class ReferralDestination(RecordOption):
    """Where an advisor can refer or signpost someone: a kind of service (police, refuges), or
    one entry of the directory."""

    directory_entry = models.ForeignKey(
        DirectoryEntry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referral_destinations",
        help_text="Optional: the directory entry this destination is.",
    )

    class Meta(RecordOption.Meta):
        verbose_name = "referral destination"

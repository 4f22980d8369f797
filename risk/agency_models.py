"""The directory of agencies a referral goes to: each MARAC area, the regions it serves, and its
agencies (the MARAC coordinator, the IDVA service, the children's safeguarding hub, the police
force). Edited in the admin; `risk.agencies` finds a case's destination in it."""

from django.db import models


class MaracArea(models.Model):
    """An area with its own MARAC, serving one or more of the helpline's regions."""

    name = models.CharField(max_length=100, unique=True)
    regions = models.ManyToManyField(
        "chat.Region", blank=True, related_name="marac_areas", help_text="The regions whose cases this area hears."
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "MARAC area"

    def __str__(self) -> str:
        return self.name


class Agency(models.Model):
    """One agency of an area that receives referrals of one kind."""

    class Kind(models.TextChoices):
        MARAC = "marac", "MARAC coordinator"
        IDVA = "idva", "IDVA service"
        MASH = "mash", "Children's safeguarding (MASH)"
        POLICE = "police", "Police force"

    area = models.ForeignKey(MaracArea, on_delete=models.PROTECT, related_name="agencies")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=150)
    email = models.EmailField(help_text="Where referrals are delivered (the message names no one).")
    active = models.BooleanField(default=True, help_text="Inactive agencies receive no new referrals.")

    class Meta:
        ordering = ["area__name", "kind", "name"]
        verbose_name_plural = "agencies"
        constraints = [
            models.UniqueConstraint(
                fields=["area", "kind"], condition=models.Q(active=True), name="one_active_agency_per_kind_and_area"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}, {self.area})"

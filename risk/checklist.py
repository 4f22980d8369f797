"""The risk checklist definitions: versioned data, never code branches.

An assessment records the version it was answered against; every version stays here so old
assessments remain readable. The wording is the product's own, written from the domain labels.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    question: str


@dataclass(frozen=True)
class Checklist:
    version: str
    before_you_ask: tuple[Item, ...]
    core: tuple[Item, ...]
    children: tuple[Item, ...]
    stalking: tuple[Item, ...]
    honour: tuple[Item, ...]

    def item(self, key: str) -> Item | None:
        for block in (self.core, self.children, self.stalking, self.honour):
            for item in block:
                if item.key == key:
                    return item
        return None

    def block_of(self, key: str) -> str | None:
        for name in ("core", "children", "stalking", "honour"):
            if any(item.key == key for item in getattr(self, name)):
                return name
        return None

    def as_dict(self) -> dict[str, object]:
        def block(items: tuple[Item, ...]) -> list[dict[str, str]]:
            return [{"key": i.key, "label": i.label, "question": i.question} for i in items]

        return {
            "version": self.version,
            "before_you_ask": block(self.before_you_ask),
            "core": block(self.core),
            "children": block(self.children),
            "stalking": block(self.stalking),
            "honour": block(self.honour),
        }


V2026_1 = Checklist(
    version="2026.1",
    before_you_ask=(
        Item("safe_now", "Safe to talk", "Have you checked it is safe for them to talk right now?"),
        Item("time", "Time available", "Do you know how much time they have before they need to stop?"),
        Item("contact", "Safe contact later", "Have you agreed a safe way to reach them later, if there is one?"),
        Item("whereabouts", "Where people are", "Do you know where the abuser and any children are now?"),
        Item(
            "explained",
            "Purpose explained",
            "Have you explained why you ask these questions and what a MARAC referral is?",
        ),
    ),
    core=(
        Item(
            "c01", "Injured now", "Has the current incident left you hurt? What happened, and is this the first time?"
        ),
        Item("c02", "Very frightened", "Are you very frightened?"),
        Item(
            "c03",
            "Afraid of what comes next",
            "Are you afraid of what might happen next: more harm, being killed, or harm to the children or others?",
        ),
        Item("c04", "Isolated", "Does the abuser keep you away from family, friends or your GP?"),
        Item("c05", "Depressed or suicidal", "Are you feeling low, or having thoughts of ending your life?"),
        Item("c06", "Separation", "Have you separated from them, or tried to, in the past year?"),
        Item("c07", "Child contact conflict", "Is there conflict over contact with the children?"),
        Item(
            "c08",
            "Persistent contact or stalking",
            "Do they keep contacting, following or watching you when you don't want them to?",
        ),
        Item("c09", "Pregnancy or new baby", "Are you pregnant, or have you had a baby in the last 18 months?"),
        Item("c10", "More often", "Is the abuse happening more often?"),
        Item("c11", "Getting worse", "Is the abuse getting worse?"),
        Item("c12", "Control or jealousy", "Do they try to control what you do, or are they very jealous?"),
        Item("c13", "Weapons or objects", "Have they used a weapon or an object to hurt you?"),
        Item("c14", "Threats to kill", "Have they threatened to kill you or someone else, and did you believe them?"),
        Item("c15", "Strangling or choking", "Have they ever tried to strangle, choke, suffocate or drown you?"),
        Item("c16", "Sexual abuse", "Do they do or say sexual things that hurt you or make you feel degraded?"),
        Item(
            "c17",
            "Another person's threats",
            "Is there another person who has threatened you, or whom you are afraid of?",
        ),
        Item(
            "c18",
            "Hurt others",
            "Do you know whether they have hurt anyone else: children, relatives, a former partner, a stranger?",
        ),
        Item("c19", "Hurt animals", "Have they ever hurt or mistreated an animal or a pet?"),
        Item(
            "c20",
            "Money problems",
            "Are there money problems: do you depend on them financially, or have they recently lost a job?",
        ),
        Item(
            "c21",
            "Drugs, alcohol, mental health",
            "In the past year, have they had problems with drugs, alcohol or their mental health?",
        ),
        Item("c22", "Their suicide threats", "Have they ever threatened or attempted suicide?"),
        Item(
            "c23", "Broke bail or orders", "Have they broken bail, an injunction or any formal agreement about contact?"
        ),
        Item(
            "c24",
            "Criminal record",
            "Do you know whether they have a criminal record or have been involved with the police?",
        ),
    ),
    children=(
        Item("k1", "Other children or dependants", "Are there other children or dependants in the household?"),
        Item("k2", "Hurt the children", "Have they ever hurt the children or dependants?"),
        Item("k3", "Threatened the children", "Have they ever threatened to hurt or kill the children or dependants?"),
    ),
    stalking=(
        Item("s01", "Very frightened", "Are you very frightened by the stalking?"),
        Item("s02", "Harassed before", "Have they harassed you, or anyone else, before?"),
        Item("s03", "Property damaged", "Have they destroyed or vandalised your property?"),
        Item("s04", "Visits often", "Do they come to your home or work more than three times a week?"),
        Item("s05", "Loiters nearby", "Do they hang around near your home, work or places you go?"),
        Item("s06", "Threats of violence", "Have they threatened physical or sexual violence?"),
        Item("s07", "Harassed those close to you", "Have they harassed your friends, family or children?"),
        Item("s08", "Violence during stalking", "Have they been violent to anyone while stalking?"),
        Item("s09", "Others help them", "Have they got other people to help them?"),
        Item("s10", "Drugs or alcohol", "Do you know of drug or alcohol abuse?"),
        Item("s11", "Past violence", "Do you know of violence in their past?"),
    ),
    honour=(
        Item("h1", "Forced marriage", "Is there any pressure to marry, or fear of being made to?"),
        Item(
            "h2",
            "Family or community involved",
            "Are family or community members involved in the abuse, or in controlling you?",
        ),
    ),
)

VERSIONS: dict[str, Checklist] = {V2026_1.version: V2026_1}
CURRENT = V2026_1


def definition(version: str) -> Checklist:
    try:
        return VERSIONS[version]
    except KeyError:
        raise LookupError(f"unknown checklist version {version!r}") from None

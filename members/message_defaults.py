"""The messages' first texts in the four languages, installed as editable ``MessageTemplate`` rows by a data
migration (``0007_message_templates``) and by ``manage.py message_templates --reset`` for staff who want
them back.

Each text is in Django's template language. The variables each kind gets are in
``members.messaging.KIND_VARIABLES``; every message also gets ``first_name``, ``club`` and ``portal_url``.
The unsubscribe line is added by ``members.messaging`` and is not part of these texts.
"""

from __future__ import annotations

GREETING = {
    "en": "Hi{% if first_name %} {{ first_name }}{% endif %}!",
    "nb": "Hei{% if first_name %} {{ first_name }}{% endif %}!",
    "da": "Hej{% if first_name %} {{ first_name }}{% endif %}!",
    "sv": "Hej{% if first_name %} {{ first_name }}{% endif %}!",
}

_BENEFITS = "{% if benefits %}\n\n{label}{% for benefit in benefits %}\n- {{ benefit }}{% endfor %}{% endif %}"

# language -> kind -> (email subject, email text after the greeting, SMS text)
TEXTS: dict[str, dict[str, tuple[str, str, str]]] = {
    "en": {
        "welcome": (
            "Welcome to {{ club }}!",
            "Welcome to {{ club }}. You earn points every time you shop, and your points become rewards.\n\n"
            "See your points and rewards: {{ portal_url }}",
            "Welcome to {{ club }}! See your points and rewards: {{ portal_url }}",
        ),
        "points_earned": (
            "You earned {{ points }} points",
            "You earned {{ points }} points for order {{ order }} at {{ shop }}. "
            "Your balance is now {{ balance }} points.\n\nSee what you can get: {{ portal_url }}",
            "{{ club }}: +{{ points }} points for order {{ order }}. Balance: {{ balance }} points. {{ portal_url }}",
        ),
        "tier_up": (
            "You are now {{ tier }}!",
            "Congratulations, you have reached {{ tier }} in {{ club }}."
            + _BENEFITS.replace("{label}", "Your benefits:")
            + "\n\n{{ portal_url }}",
            "{{ club }}: Congratulations, you are now {{ tier }}! {{ portal_url }}",
        ),
        "tier_down": (
            "Your level is now {{ tier }}",
            "Your level in {{ club }} is now {{ tier }}. Earn points to move up again: "
            "see how far you have to go at {{ portal_url }}",
            "{{ club }}: Your level is now {{ tier }}. See how to move up again: {{ portal_url }}",
        ),
        "expiry_warning": (
            "{{ points }} points expire on {{ date }}",
            "{{ points }} of your points expire on {{ date }}. Use them before then: "
            "see your rewards at {{ portal_url }}",
            "{{ club }}: {{ points }} points expire on {{ date }}. Use them: {{ portal_url }}",
        ),
        "reward_redeemed": (
            "Your voucher for {{ reward }}",
            "Here is your voucher for {{ reward }}: {{ code }}\n\n{% if how_to_use %}{{ how_to_use }}\n\n{% endif %}"
            "You can always find it at {{ portal_url }}",
            "{{ club }}: Your voucher for {{ reward }}: {{ code }}",
        ),
        "referral_rewarded": (
            "Thanks for inviting {{ friend }}: {{ points }} points",
            "{{ friend }} joined {{ club }} and shopped, so you got {{ points }} points. Thank you!\n\n"
            "Invite more friends: {{ portal_url }}",
            "{{ club }}: {{ friend }} shopped, and you got {{ points }} points. Thanks! {{ portal_url }}",
        ),
        "winback": (
            "We miss you: {{ offer }}",
            "It's been a while. Here is an offer just for you: {{ offer }}.\n"
            "Use the code {{ code }} at checkout{% if valid_until %} before {{ valid_until }}{% endif %}.\n\n"
            "{{ portal_url }}",
            "{{ club }}: We miss you! {{ offer }} with the code {{ code }}"
            "{% if valid_until %}, until {{ valid_until }}{% endif %}.",
        ),
        "segment": (
            "{{ subject }}",
            "{{ text }}\n\n{{ portal_url }}",
            "{{ club }}: {{ text }}",
        ),
    },
    "nb": {
        "welcome": (
            "Velkommen til {{ club }}!",
            "Velkommen til {{ club }}. Du får poeng hver gang du handler, og poengene blir til belønninger.\n\n"
            "Se poengene og belønningene dine: {{ portal_url }}",
            "Velkommen til {{ club }}! Se poengene og belønningene dine: {{ portal_url }}",
        ),
        "points_earned": (
            "Du har fått {{ points }} poeng",
            "Du har fått {{ points }} poeng for ordre {{ order }} hos {{ shop }}. "
            "Poengsaldoen din er nå {{ balance }} poeng.\n\nSe hva du kan få: {{ portal_url }}",
            "{{ club }}: +{{ points }} poeng for ordre {{ order }}. Poengsaldo: {{ balance }} poeng. {{ portal_url }}",
        ),
        "tier_up": (
            "Du er nå {{ tier }}!",
            "Gratulerer, du har nådd nivå {{ tier }} i {{ club }}."
            + _BENEFITS.replace("{label}", "Fordelene dine:")
            + "\n\n{{ portal_url }}",
            "{{ club }}: Gratulerer, du er nå {{ tier }}! {{ portal_url }}",
        ),
        "tier_down": (
            "Nivået ditt er nå {{ tier }}",
            "Nivået ditt i {{ club }} er nå {{ tier }}. Tjen poeng for å komme opp igjen: "
            "se hvor langt du har igjen på {{ portal_url }}",
            "{{ club }}: Nivået ditt er nå {{ tier }}. Se hvordan du kommer opp igjen: {{ portal_url }}",
        ),
        "expiry_warning": (
            "{{ points }} poeng utløper {{ date }}",
            "{{ points }} av poengene dine utløper {{ date }}. Bruk dem før det: "
            "se belønningene dine på {{ portal_url }}",
            "{{ club }}: {{ points }} poeng utløper {{ date }}. Bruk dem: {{ portal_url }}",
        ),
        "reward_redeemed": (
            "Kupongen din for {{ reward }}",
            "Her er kupongen din for {{ reward }}: {{ code }}\n\n{% if how_to_use %}{{ how_to_use }}\n\n{% endif %}"
            "Du finner den alltid på {{ portal_url }}",
            "{{ club }}: Kupongen din for {{ reward }}: {{ code }}",
        ),
        "referral_rewarded": (
            "Takk for at du vervet {{ friend }}: {{ points }} poeng",
            "{{ friend }} ble medlem i {{ club }} og handlet, så du har fått {{ points }} poeng. Tusen takk!\n\n"
            "Verv flere venner: {{ portal_url }}",
            "{{ club }}: {{ friend }} har handlet, og du har fått {{ points }} poeng. Takk! {{ portal_url }}",
        ),
        "winback": (
            "Vi savner deg: {{ offer }}",
            "Det er lenge siden sist. Her er et tilbud bare til deg: {{ offer }}.\n"
            "Bruk koden {{ code }} i kassen{% if valid_until %} innen {{ valid_until }}{% endif %}.\n\n"
            "{{ portal_url }}",
            "{{ club }}: Vi savner deg! {{ offer }} med koden {{ code }}"
            "{% if valid_until %}, til {{ valid_until }}{% endif %}.",
        ),
        "segment": (
            "{{ subject }}",
            "{{ text }}\n\n{{ portal_url }}",
            "{{ club }}: {{ text }}",
        ),
    },
    "da": {
        "welcome": (
            "Velkommen til {{ club }}!",
            "Velkommen til {{ club }}. Du får point, hver gang du handler, og dine point bliver til belønninger.\n\n"
            "Se dine point og belønninger: {{ portal_url }}",
            "Velkommen til {{ club }}! Se dine point og belønninger: {{ portal_url }}",
        ),
        "points_earned": (
            "Du har fået {{ points }} point",
            "Du har fået {{ points }} point for ordre {{ order }} hos {{ shop }}. "
            "Din pointsaldo er nu {{ balance }} point.\n\nSe, hvad du kan få: {{ portal_url }}",
            "{{ club }}: +{{ points }} point for ordre {{ order }}. Pointsaldo: {{ balance }} point. {{ portal_url }}",
        ),
        "tier_up": (
            "Du er nu {{ tier }}!",
            "Tillykke, du har nået niveau {{ tier }} i {{ club }}."
            + _BENEFITS.replace("{label}", "Dine fordele:")
            + "\n\n{{ portal_url }}",
            "{{ club }}: Tillykke, du er nu {{ tier }}! {{ portal_url }}",
        ),
        "tier_down": (
            "Dit niveau er nu {{ tier }}",
            "Dit niveau i {{ club }} er nu {{ tier }}. Optjen point for at rykke op igen: "
            "se, hvor langt du har igen, på {{ portal_url }}",
            "{{ club }}: Dit niveau er nu {{ tier }}. Se, hvordan du rykker op igen: {{ portal_url }}",
        ),
        "expiry_warning": (
            "{{ points }} point udløber {{ date }}",
            "{{ points }} af dine point udløber {{ date }}. Brug dem inden da: se dine belønninger på {{ portal_url }}",
            "{{ club }}: {{ points }} point udløber {{ date }}. Brug dem: {{ portal_url }}",
        ),
        "reward_redeemed": (
            "Din kupon til {{ reward }}",
            "Her er din kupon til {{ reward }}: {{ code }}\n\n{% if how_to_use %}{{ how_to_use }}\n\n{% endif %}"
            "Du kan altid finde den på {{ portal_url }}",
            "{{ club }}: Din kupon til {{ reward }}: {{ code }}",
        ),
        "referral_rewarded": (
            "Tak, fordi du anbefalede {{ friend }}: {{ points }} point",
            "{{ friend }} blev medlem af {{ club }} og handlede, så du har fået {{ points }} point. Tusind tak!\n\n"
            "Anbefal flere venner: {{ portal_url }}",
            "{{ club }}: {{ friend }} har handlet, og du har fået {{ points }} point. Tak! {{ portal_url }}",
        ),
        "winback": (
            "Vi savner dig: {{ offer }}",
            "Det er længe siden. Her er et tilbud kun til dig: {{ offer }}.\n"
            "Brug koden {{ code }} ved kassen{% if valid_until %} inden {{ valid_until }}{% endif %}.\n\n"
            "{{ portal_url }}",
            "{{ club }}: Vi savner dig! {{ offer }} med koden {{ code }}"
            "{% if valid_until %}, indtil {{ valid_until }}{% endif %}.",
        ),
        "segment": (
            "{{ subject }}",
            "{{ text }}\n\n{{ portal_url }}",
            "{{ club }}: {{ text }}",
        ),
    },
    "sv": {
        "welcome": (
            "Välkommen till {{ club }}!",
            "Välkommen till {{ club }}. Du får poäng varje gång du handlar, och poängen blir till belöningar.\n\n"
            "Se dina poäng och belöningar: {{ portal_url }}",
            "Välkommen till {{ club }}! Se dina poäng och belöningar: {{ portal_url }}",
        ),
        "points_earned": (
            "Du har fått {{ points }} poäng",
            "Du har fått {{ points }} poäng för order {{ order }} hos {{ shop }}. "
            "Din poängsaldo är nu {{ balance }} poäng.\n\nSe vad du kan få: {{ portal_url }}",
            "{{ club }}: +{{ points }} poäng för order {{ order }}. Poängsaldo: {{ balance }} poäng. {{ portal_url }}",
        ),
        "tier_up": (
            "Du är nu {{ tier }}!",
            "Grattis, du har nått nivå {{ tier }} i {{ club }}."
            + _BENEFITS.replace("{label}", "Dina förmåner:")
            + "\n\n{{ portal_url }}",
            "{{ club }}: Grattis, du är nu {{ tier }}! {{ portal_url }}",
        ),
        "tier_down": (
            "Din nivå är nu {{ tier }}",
            "Din nivå i {{ club }} är nu {{ tier }}. Tjäna poäng för att gå upp igen: "
            "se hur långt du har kvar på {{ portal_url }}",
            "{{ club }}: Din nivå är nu {{ tier }}. Se hur du går upp igen: {{ portal_url }}",
        ),
        "expiry_warning": (
            "{{ points }} poäng förfaller {{ date }}",
            "{{ points }} av dina poäng förfaller {{ date }}. Använd dem innan dess: "
            "se dina belöningar på {{ portal_url }}",
            "{{ club }}: {{ points }} poäng förfaller {{ date }}. Använd dem: {{ portal_url }}",
        ),
        "reward_redeemed": (
            "Din kupong för {{ reward }}",
            "Här är din kupong för {{ reward }}: {{ code }}\n\n{% if how_to_use %}{{ how_to_use }}\n\n{% endif %}"
            "Du hittar den alltid på {{ portal_url }}",
            "{{ club }}: Din kupong för {{ reward }}: {{ code }}",
        ),
        "referral_rewarded": (
            "Tack för att du värvade {{ friend }}: {{ points }} poäng",
            "{{ friend }} blev medlem i {{ club }} och handlade, så du har fått {{ points }} poäng. Tack!\n\n"
            "Värva fler vänner: {{ portal_url }}",
            "{{ club }}: {{ friend }} har handlat och du har fått {{ points }} poäng. Tack! {{ portal_url }}",
        ),
        "winback": (
            "Vi saknar dig: {{ offer }}",
            "Det var länge sedan. Här är ett erbjudande bara till dig: {{ offer }}.\n"
            "Använd koden {{ code }} i kassan{% if valid_until %} senast {{ valid_until }}{% endif %}.\n\n"
            "{{ portal_url }}",
            "{{ club }}: Vi saknar dig! {{ offer }} med koden {{ code }}"
            "{% if valid_until %}, till {{ valid_until }}{% endif %}.",
        ),
        "segment": (
            "{{ subject }}",
            "{{ text }}\n\n{{ portal_url }}",
            "{{ club }}: {{ text }}",
        ),
    },
}


def default_templates() -> list[dict[str, str]]:
    """One dict of ``MessageTemplate`` fields per kind, channel and language."""
    rows = []
    for language, kinds in TEXTS.items():
        for kind, (subject, email_text, sms_text) in kinds.items():
            email_body = f"{GREETING[language]}\n\n{email_text}"
            rows.append(
                {"kind": kind, "channel": "email", "language": language, "subject": subject, "body": email_body}
            )
            rows.append({"kind": kind, "channel": "sms", "language": language, "subject": "", "body": sms_text})
    return rows

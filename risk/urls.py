from django.urls import path

from risk import (
    api_views,
    delivery_views,
    key_views,
    outcome_views,
    report_views,
    retention_views,
    return_phrase_views,
    views,
)

urlpatterns = [
    path("risk/api/conversations/<uuid:conversation_id>/", api_views.conversation_state, name="risk_conversation"),
    path("risk/api/conversations/<uuid:conversation_id>/case/", api_views.conversation_case, name="risk_open_case"),
    path("risk/api/assessments/<int:assessment_id>/", api_views.assessment_save, name="risk_assessment"),
    path("risk/api/cases/<uuid:case_id>/referrals/", api_views.referral_start, name="risk_referral_start"),
    path("risk/api/cases/<uuid:case_id>/safeguarding/", api_views.safeguarding_decision, name="risk_safeguarding"),
    path("risk/cases/<uuid:case_id>/", views.case_page, name="risk_case"),
    path("risk/assessments/<int:assessment_id>.<str:fmt>", views.assessment_export_view, name="risk_assessment_export"),
    path("risk/snapshots/<uuid:snapshot_id>.<str:fmt>", views.snapshot_export, name="risk_snapshot"),
    path(".well-known/transcript-signing-keys.json", key_views.published_keys, name="risk_signing_keys"),
    path("risk/referrals/", views.referral_queue, name="risk_queue"),
    path("risk/referrals/<uuid:referral_id>/", views.referral_page, name="risk_referral"),
    path("risk/retention/", retention_views.review_list, name="risk_retention"),
    path("console/reports/", report_views.reports_page, name="reports"),
    path("risk/cases/<uuid:case_id>/retention/", retention_views.case_retention, name="risk_case_retention"),
    # Return phrases: a returning visitor's chat linked to their case (risk/return_phrases.py).
    path("risk/api/cases/<uuid:case_id>/return-phrase/", return_phrase_views.case_phrase, name="risk_case_phrase"),
    path(
        "risk/api/return-phrases/<int:phrase_id>/revoke/", return_phrase_views.phrase_revoke, name="risk_phrase_revoke"
    ),
    path(
        "risk/api/conversations/<uuid:conversation_id>/return-phrase/",
        return_phrase_views.conversation_phrase,
        name="risk_conversation_phrase",
    ),
    path(
        "risk/return-phrases/<int:phrase_id>/revoke/",
        return_phrase_views.phrase_revoke_page,
        name="risk_phrase_revoke_page",
    ),
    # The multi-agency pathway: MARAC outcomes and perpetrator matching.
    path("risk/perpetrators/", outcome_views.perpetrator_search, name="risk_perpetrator_search"),
    # Part 2 of the pathway: secure delivery. The agency's link (no staff sign-in).
    path("r/<str:token>/", delivery_views.delivery_page, name="risk_delivery_open"),
]

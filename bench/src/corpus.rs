//! The text of the generated traces: a support assistant answering questions over a small
//! knowledge base, with lengths typical of RAG apps (a system prompt of ~600 characters,
//! retrieved documents of ~400, answers of ~350).

/// The generation's system prompt.
pub(crate) const SYSTEM_PROMPT: &str = "You are a concise support assistant for Acme Cloud. Answer only \
from the provided context, cite the document ids you used in square brackets, and say so when \
the context does not contain the answer. Never invent prices, limits or dates. Keep answers \
under 120 words, use the customer's terminology, and do not mention internal tools, ticket \
ids or other customers. If the question is about security or compliance, add a link to the \
trust centre. Reply in the language of the question.";

/// What users ask; a trace's topic indexes this, `ANSWERS` and `DOCUMENTS`.
pub(crate) const QUESTIONS: [&str; 6] = [
    "What is the refund policy for annual plans bought through a reseller?",
    "How do I rotate the API keys of a project without downtime?",
    "Why did my nightly export job fail with a quota exceeded error?",
    "Can I move a workspace from the EU region to the US region?",
    "Which SSO providers are supported on the Team plan?",
    "How long are raw request logs kept before they are deleted?",
];

/// The model's answer per topic.
pub(crate) const ANSWERS: [&str; 6] = [
    "Annual plans bought through a reseller are refunded by the reseller, not by Acme. Once \
     the reseller confirms the cancellation, Acme credits the unused full months pro rata to the \
     reseller within 14 days, and the reseller pays you according to its own terms. Monthly \
     plans are not refunded; they simply end with the current billing period [doc-011].",
    "Create a second key pair under Project Settings > API Keys, roll it out to every client, \
     and check in the usage view that the old public key no longer receives traffic. Then \
     revoke the old pair; both pairs stay valid until then, so there is no downtime, and the \
     revocation reaches every region within 60 seconds [doc-048].",
    "The export job most likely hit the 50 GB daily egress quota of the Starter plan: exports, \
     API reads and webhooks all count towards it. Failed exports are retried automatically \
     after the reset at 00:00 UTC. Splitting the export into smaller date ranges, or moving to \
     the Team plan, which has no daily quota, avoids the failures [doc-085].",
    "A workspace's region is fixed when it is created, because data residency commitments \
     depend on it. To move, export the workspace in the EU region, create a new workspace in \
     the US region and import the export there; ids and timestamps are kept, but users have \
     to be invited again. Support can help to plan large migrations [doc-122].",
    "The Team plan supports SAML 2.0 single sign-on with Google Workspace, Microsoft Entra ID, \
     Okta and other SAML identity providers. Generic OpenID Connect, SCIM provisioning and \
     enforced SSO for every member need the Enterprise plan. You can set it up under \
     Organisation > Security after a successful test login [doc-159].",
    "Raw request logs are kept for 30 days on every plan and are then deleted automatically; \
     the deletion cannot be paused. Aggregated metrics are kept for 13 months. On Enterprise \
     you can stream raw logs to your own bucket to keep them longer, or ask support for an \
     earlier deletion for compliance reasons [doc-196].",
];

/// The knowledge base the retriever returns from.
pub(crate) const DOCUMENTS: [&str; 6] = [
    "Purchases made through an authorised reseller are invoiced by the reseller, so refunds \
     for those purchases are also processed by the reseller. Once the reseller confirms a \
     cancellation to Acme, the unused full months of an annual plan are credited pro rata to \
     the reseller account within 14 days. Monthly plans are not refunded; they end at the close \
     of the current billing period.",
    "A project can hold several API key pairs at once, and every pair can be created and \
     revoked on its own from Project Settings > API Keys. To rotate keys without downtime, \
     create the new pair first, deploy it to every client, confirm in the usage view that the \
     old public key no longer receives traffic, and only then revoke the old pair. Revocation \
     takes effect within 60 seconds on every region.",
    "Starter plans include 50 GB of egress per day, measured in UTC. Scheduled exports, API \
     reads and webhook deliveries all count towards this quota. When the quota is exhausted, \
     exports fail with QUOTA_EXCEEDED and are retried automatically after the reset at \
     00:00 UTC. Team and Enterprise plans have no daily egress quota, only a fair-use limit \
     that support reviews with you before enforcing.",
    "The region of a workspace is chosen when the workspace is created and cannot be changed \
     afterwards, because data residency commitments are tied to it. To move data, export the \
     workspace from the source region, create a new workspace in the target region and import \
     the export there. Imports keep ids and timestamps; users must be invited again in the new \
     workspace.",
    "Single sign-on with SAML 2.0 is available from the Team plan and works with Google \
     Workspace, Microsoft Entra ID, Okta and any other SAML identity provider. Generic OpenID \
     Connect, SCIM user provisioning and enforced SSO for every member are part of the \
     Enterprise plan. Configure SSO under Organisation > Security; a test login is required \
     before it can be enforced.",
    "Raw request logs are retained for 30 days on every plan and are deleted automatically \
     afterwards; deletion cannot be paused. Aggregated metrics derived from the logs are kept \
     for 13 months. Enterprise customers can stream raw logs to their own bucket to keep them \
     longer, and can request earlier deletion for compliance reasons through support.",
];

/// An earlier turn of the conversation, which the app replays to the model as history.
pub(crate) const HISTORY: [(&str, &str); 3] = [
    (
        "Hi, I manage the Acme account for our data team. Can you help with a billing question?",
        "Of course. Tell me what you would like to know about your plan, invoices or refunds, \
         and include the workspace name if the question is about a specific workspace.",
    ),
    (
        "We are preparing a security review and I need a few answers about your platform.",
        "Happy to help with your security review. Ask your questions one at a time and I will \
         answer from the current documentation, with links to the relevant pages.",
    ),
    (
        "Our nightly jobs have been flaky this week and I am trying to understand why.",
        "Sorry to hear that. If you share the job name and the error message you see, I can \
         check the documentation for known limits and causes.",
    ),
];

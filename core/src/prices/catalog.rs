//! The built-in price table: public list prices (standard tier, USD per million tokens) of
//! current models of OpenAI, Anthropic, Google and Mistral.
//!
//! Each row names the model-name *core* only; `super::builtin_models` wraps it with the
//! provider's prefixes (`openai/`, `models/`, Bedrock's `us.anthropic.`) and version suffixes
//! (`-20241022`, `@20241022`, `-v2:0`, `-001`, `-latest`) into an anchored, case-insensitive
//! pattern. When a provider changed a price, the model has two rows: the later one carries the
//! date the new price took effect (`since`), and matching picks the latest row not after the
//! observation's start time.
//!
//! Tiered prices (Gemini and Claude above 200k context tokens) are not modelled: the table holds
//! the base tier, which is what most requests pay.

use self::Provider::{Anthropic, Google, Mistral, OpenAi};

/// Who serves a model; decides the prefixes and suffixes its names take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Provider {
    OpenAi,
    Anthropic,
    Google,
    Mistral,
}

/// One row of the table. Prices are USD per million tokens, as providers publish them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    /// Stable id, without the `builtin-` prefix.
    pub(super) id: &'static str,
    pub(super) model_name: &'static str,
    pub(super) provider: Provider,
    /// Regex of the model name without provider prefixes or version suffixes.
    pub(super) core: &'static str,
    /// (year, month, day) the price took effect, UTC; `None` for "since the model launched".
    pub(super) since: Option<(i32, u32, u32)>,
    pub(super) input: f64,
    pub(super) output: Option<f64>,
    /// Reading from the prompt cache (`input_cached_tokens`).
    pub(super) cache_read: Option<f64>,
    /// Writing to the prompt cache (`input_cache_creation`), Anthropic's 5-minute cache.
    pub(super) cache_write: Option<f64>,
    /// Reasoning tokens (`output_reasoning_tokens`); all providers here bill them as output.
    pub(super) reasoning: Option<f64>,
}

/// A chat model row; the model name defaults to the id.
const fn row(
    provider: Provider,
    id: &'static str,
    core: &'static str,
    input: f64,
    output: f64,
) -> Entry {
    Entry {
        id,
        model_name: id,
        provider,
        core,
        since: None,
        input,
        output: Some(output),
        cache_read: None,
        cache_write: None,
        reasoning: None,
    }
}

const fn openai(id: &'static str, core: &'static str, input: f64, output: f64) -> Entry {
    row(OpenAi, id, core, input, output)
}

/// Anthropic rows: cache writes (5-minute TTL) cost 1.25× input, cache reads 0.1× input.
const fn claude(id: &'static str, core: &'static str, input: f64, output: f64) -> Entry {
    row(Anthropic, id, core, input, output)
}

const fn gemini(id: &'static str, core: &'static str, input: f64, output: f64) -> Entry {
    row(Google, id, core, input, output)
}

const fn mistral(id: &'static str, core: &'static str, input: f64, output: f64) -> Entry {
    row(Mistral, id, core, input, output)
}

/// An embedding model: input tokens only.
const fn embedding(provider: Provider, id: &'static str, core: &'static str, input: f64) -> Entry {
    Entry {
        output: None,
        ..row(provider, id, core, input, 0.0)
    }
}

impl Entry {
    /// Sets the model name when it differs from the id (several rows of one model).
    const fn named(self, model_name: &'static str) -> Self {
        Self { model_name, ..self }
    }

    const fn cached(self, read: f64) -> Self {
        Self {
            cache_read: Some(read),
            ..self
        }
    }

    const fn cache_write(self, write: f64) -> Self {
        Self {
            cache_write: Some(write),
            ..self
        }
    }

    /// Prices reasoning tokens like output tokens.
    const fn reasons(self) -> Self {
        Self {
            reasoning: self.output,
            ..self
        }
    }

    const fn since(self, year: i32, month: u32, day: u32) -> Self {
        Self {
            since: Some((year, month, day)),
            ..self
        }
    }
}

/// The table. Ids must stay stable: stored price snapshots refer to them.
// Kept as an aligned table, one model per line, for review against the providers' price pages.
#[rustfmt::skip]
pub(super) const ENTRIES: &[Entry] = &[
    // OpenAI. The `gpt-4o` alias pointed to gpt-4o-2024-05-13 until 2024-10-02, then to
    // gpt-4o-2024-08-06, which launched at the lower price.
    openai("gpt-4o-2024-05-13", r"gpt-4o-2024-05-13", 5.0, 15.0),
    openai("gpt-4o-launch", r"gpt-4o", 5.0, 15.0).named("gpt-4o"),
    openai("gpt-4o", r"gpt-4o", 2.5, 10.0).cached(1.25).since(2024, 10, 2),
    openai("gpt-4o-2024-08-06", r"gpt-4o-(?:2024-08-06|2024-11-20)", 2.5, 10.0).cached(1.25),
    openai("chatgpt-4o-latest", r"chatgpt-4o-latest", 5.0, 15.0),
    openai("gpt-4o-mini", r"gpt-4o-mini(?:-2024-07-18)?", 0.15, 0.6).cached(0.075),
    openai("gpt-4.1", r"gpt-4\.1(?:-2025-04-14)?", 2.0, 8.0).cached(0.5),
    openai("gpt-4.1-mini", r"gpt-4\.1-mini(?:-2025-04-14)?", 0.4, 1.6).cached(0.1),
    openai("gpt-4.1-nano", r"gpt-4\.1-nano(?:-2025-04-14)?", 0.1, 0.4).cached(0.025),
    openai("gpt-4.5-preview", r"gpt-4\.5-preview(?:-2025-02-27)?", 75.0, 150.0).cached(37.5),
    openai("gpt-4-turbo", r"gpt-4-turbo(?:-2024-04-09|-preview)?|gpt-4-(?:1106|0125)-preview",
        10.0, 30.0),
    openai("gpt-4", r"gpt-4(?:-0613|-0314)?", 30.0, 60.0),
    openai("gpt-4-32k", r"gpt-4-32k(?:-0613|-0314)?", 60.0, 120.0),
    openai("gpt-3.5-turbo", r"gpt-3\.5-turbo(?:-0125)?", 0.5, 1.5),
    openai("gpt-3.5-turbo-1106", r"gpt-3\.5-turbo-1106", 1.0, 2.0),
    openai("gpt-3.5-turbo-instruct", r"gpt-3\.5-turbo-instruct(?:-0914)?", 1.5, 2.0),
    openai("o1", r"o1(?:-2024-12-17)?", 15.0, 60.0).cached(7.5).reasons(),
    openai("o1-preview", r"o1-preview(?:-2024-09-12)?", 15.0, 60.0).cached(7.5).reasons(),
    openai("o1-mini", r"o1-mini(?:-2024-09-12)?", 3.0, 12.0).cached(1.5).reasons(),
    // The o1-mini cut shipped with the o3-mini launch; the day is that launch's.
    openai("o1-mini-2025-01-31", r"o1-mini(?:-2024-09-12)?", 1.1, 4.4).cached(0.55).reasons()
        .named("o1-mini").since(2025, 1, 31),
    openai("o1-pro", r"o1-pro(?:-2025-03-19)?", 150.0, 600.0).reasons(),
    openai("o3-mini", r"o3-mini(?:-2025-01-31)?", 1.1, 4.4).cached(0.55).reasons(),
    openai("o3", r"o3(?:-2025-04-16)?", 10.0, 40.0).cached(2.5).reasons(),
    // OpenAI cut o3 by 80% on 2025-06-10.
    openai("o3-2025-06-10", r"o3(?:-2025-04-16)?", 2.0, 8.0).cached(0.5).reasons()
        .named("o3").since(2025, 6, 10),
    openai("o3-pro", r"o3-pro(?:-2025-06-10)?", 20.0, 80.0).reasons(),
    openai("o4-mini", r"o4-mini(?:-2025-04-16)?", 1.1, 4.4).cached(0.275).reasons(),
    openai("gpt-5", r"gpt-5(?:-\d{4}-\d{2}-\d{2}|-chat-latest|-codex)?", 1.25, 10.0)
        .cached(0.125).reasons(),
    openai("gpt-5-mini", r"gpt-5-mini(?:-\d{4}-\d{2}-\d{2})?", 0.25, 2.0).cached(0.025).reasons(),
    openai("gpt-5-nano", r"gpt-5-nano(?:-\d{4}-\d{2}-\d{2})?", 0.05, 0.4).cached(0.005).reasons(),
    openai("gpt-5-pro", r"gpt-5-pro(?:-\d{4}-\d{2}-\d{2})?", 15.0, 120.0).reasons(),
    openai("gpt-5.1", r"gpt-5\.1(?:-\d{4}-\d{2}-\d{2}|-chat-latest|-codex)?", 1.25, 10.0)
        .cached(0.125).reasons(),
    embedding(OpenAi, "text-embedding-3-small", r"text-embedding-3-small", 0.02),
    embedding(OpenAi, "text-embedding-3-large", r"text-embedding-3-large", 0.13),
    embedding(OpenAi, "text-embedding-ada-002", r"text-embedding-ada-002(?:-v2)?", 0.1),
    // Anthropic. OpenRouter writes versions with dots (`claude-3.5-sonnet`), hence `[-.]`.
    claude("claude-3-haiku", r"claude-3-haiku", 0.25, 1.25).cache_write(0.3).cached(0.03),
    claude("claude-3-sonnet", r"claude-3-sonnet", 3.0, 15.0),
    claude("claude-3-opus", r"claude-3-opus", 15.0, 75.0).cache_write(18.75).cached(1.5),
    claude("claude-3-5-haiku", r"claude-3[-.]5-haiku", 0.8, 4.0).cache_write(1.0).cached(0.08),
    claude("claude-3-5-sonnet", r"claude-3[-.]5-sonnet", 3.0, 15.0).cache_write(3.75).cached(0.3),
    claude("claude-3-7-sonnet", r"claude-3[-.]7-sonnet", 3.0, 15.0)
        .cache_write(3.75).cached(0.3).reasons(),
    claude("claude-sonnet-4", r"claude-sonnet-4|claude-4-sonnet", 3.0, 15.0)
        .cache_write(3.75).cached(0.3).reasons(),
    claude("claude-sonnet-4-5", r"claude-sonnet-4[-.]5|claude-4[-.]5-sonnet", 3.0, 15.0)
        .cache_write(3.75).cached(0.3).reasons(),
    claude("claude-opus-4", r"claude-opus-4|claude-4-opus", 15.0, 75.0)
        .cache_write(18.75).cached(1.5).reasons(),
    claude("claude-opus-4-1", r"claude-opus-4[-.]1", 15.0, 75.0)
        .cache_write(18.75).cached(1.5).reasons(),
    claude("claude-opus-4-5", r"claude-opus-4[-.]5", 5.0, 25.0)
        .cache_write(6.25).cached(0.5).reasons(),
    claude("claude-haiku-4-5", r"claude-haiku-4[-.]5", 1.0, 5.0)
        .cache_write(1.25).cached(0.1).reasons(),
    // Google (Gemini API), prompts up to 128k (1.5) or 200k (2.5, 3) tokens. Gemini bills
    // context-cache reads; cache storage per hour is not a token price and is left out.
    gemini("gemini-1.5-pro", r"gemini-1\.5-pro", 3.5, 10.5),
    gemini("gemini-1.5-pro-2024-10-01", r"gemini-1\.5-pro", 1.25, 5.0).cached(0.3125)
        .named("gemini-1.5-pro").since(2024, 10, 1),
    gemini("gemini-1.5-flash", r"gemini-1\.5-flash", 0.35, 1.05),
    gemini("gemini-1.5-flash-2024-08-12", r"gemini-1\.5-flash", 0.075, 0.3).cached(0.01875)
        .named("gemini-1.5-flash").since(2024, 8, 12),
    gemini("gemini-1.5-flash-8b", r"gemini-1\.5-flash-8b", 0.0375, 0.15).cached(0.01),
    gemini("gemini-2.0-flash", r"gemini-2\.0-flash", 0.1, 0.4).cached(0.025),
    gemini("gemini-2.0-flash-lite", r"gemini-2\.0-flash-lite", 0.075, 0.3),
    gemini("gemini-2.5-pro", r"gemini-2\.5-pro", 1.25, 10.0).cached(0.125).reasons(),
    gemini("gemini-2.5-flash", r"gemini-2\.5-flash", 0.3, 2.5).cached(0.03).reasons(),
    gemini("gemini-2.5-flash-lite", r"gemini-2\.5-flash-lite", 0.1, 0.4).cached(0.01).reasons(),
    gemini("gemini-3-pro", r"gemini-3-pro", 2.0, 12.0).cached(0.2).reasons(),
    // Mistral (La Plateforme).
    mistral("mistral-large", r"mistral-large", 2.0, 6.0),
    mistral("mistral-medium", r"mistral-medium(?:-3)?", 0.4, 2.0),
    mistral("mistral-small", r"mistral-small", 0.1, 0.3),
    mistral("codestral", r"codestral", 0.3, 0.9),
    mistral("ministral-8b", r"ministral-8b", 0.1, 0.1),
    mistral("ministral-3b", r"ministral-3b", 0.04, 0.04),
    mistral("mistral-nemo", r"(?:open-)?mistral-nemo", 0.15, 0.15),
    mistral("pixtral-large", r"pixtral-large", 2.0, 6.0),
    mistral("pixtral-12b", r"pixtral-12b", 0.15, 0.15),
    mistral("magistral-medium", r"magistral-medium", 2.0, 5.0).reasons(),
    mistral("magistral-small", r"magistral-small", 0.5, 1.5).reasons(),
    embedding(Mistral, "mistral-embed", r"mistral-embed", 0.1),
];

/// Returns the anchored, case-insensitive pattern of a row.
pub(super) fn full_pattern(entry: &Entry) -> String {
    // Path-like prefixes: `openai/`, `azure/`, `models/`, `publishers/google/models/`,
    // `openrouter/anthropic/`.
    const PATH: &str = r"(?:[\w.-]+/)*";
    let (prefix, suffix) = match entry.provider {
        // OpenAI rows spell out their dated snapshots, so that a new snapshot with a new price
        // is unpriced rather than silently priced like its predecessor.
        Provider::OpenAi => (PATH.to_owned(), ""),
        // Bedrock: `anthropic.claude-…-20240620-v1:0`, cross-region `us.anthropic.…`;
        // Vertex: `claude-3-5-sonnet-v2@20241022`; Anthropic API: `-20241022`, `-latest`.
        Provider::Anthropic => (
            format!(r"{PATH}(?:[a-z]{{2,6}}\.)?(?:anthropic\.)?"),
            r"(?:-latest)?(?:-v\d+)?(?:[-@]\d{8})?(?:-v\d+(?::\d+)?)?",
        ),
        // `-001`, `-latest`, `-preview-05-06`, `-exp-0827`, `-preview-09-2025`.
        Provider::Google => (
            PATH.to_owned(),
            r"(?:-latest|-\d{3}|-(?:preview|exp)(?:-\d{2}-\d{2}|-\d{2}-\d{4}|-\d{4})?)?",
        ),
        // `-2411`, `-latest`; Bedrock `mistral.mistral-large-2407-v1:0`.
        Provider::Mistral => (
            format!(r"{PATH}(?:mistral\.)?"),
            r"(?:-latest|-\d{4})?(?:-v\d+(?::\d+)?)?",
        ),
    };
    format!("(?i)^{prefix}(?:{core}){suffix}$", core = entry.core)
}

/// Returns the tokenizer family of a row's provider.
pub(super) fn tokenizer_id(provider: Provider) -> Option<&'static str> {
    match provider {
        Provider::OpenAi => Some("openai"),
        Provider::Anthropic => Some("claude"),
        Provider::Google | Provider::Mistral => None,
    }
}

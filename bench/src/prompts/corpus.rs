//! The prompts the `prompts` command creates, and the fetches it makes of them.
//!
//! Each run creates its prompts under a folder of its own (`bench-<run>/…`), so several runs
//! can share one server and one project without reading each other's versions. Half of the
//! names are text prompts, half chat prompts (system message, a `history` placeholder and a
//! user turn); every tenth text prompt composes a shared snippet through a
//! `@@@langfusePrompt:…@@@` reference, as prompt libraries do. Version `v` of a name carries
//! the label `v<v>`; the last-but-one version also carries `production`, the last `staging`.

use serde_json::{Value, json};

/// The label SDKs fetch by default.
pub(crate) const PRODUCTION: &str = "production";

/// One fetch: the request path and what the answer must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FetchKey {
    /// Path and query, e.g. `/api/public/v2/prompts/bench-1%2Ftext-00001?label=production`.
    pub(crate) path: String,
    /// The prompt's name (decoded).
    pub(crate) name: String,
    /// The version the answer must carry.
    pub(crate) version: u32,
}

/// The prompt names and versions of one run.
#[derive(Debug, Clone)]
pub(crate) struct Corpus {
    /// Folder of this run's names.
    pub(crate) folder: String,
    /// Number of (non-snippet) names.
    pub(crate) prompts: usize,
    /// Versions per name.
    pub(crate) versions: u32,
}

impl Corpus {
    /// Returns the name of prompt `index`.
    pub(crate) fn name(&self, index: usize) -> String {
        let kind = if index.is_multiple_of(2) {
            "text"
        } else {
            "chat"
        };
        format!("{}/{kind}-{index:05}", self.folder)
    }

    /// Returns the name of the snippet that some text prompts compose.
    pub(crate) fn snippet_name(&self) -> String {
        format!("{}/snippets/safety", self.folder)
    }

    /// Returns the version the `production` label points at.
    pub(crate) fn production_version(&self) -> u32 {
        self.versions.saturating_sub(1).max(1)
    }

    /// Returns the labels version `version` is created with.
    fn labels(&self, version: u32) -> Vec<String> {
        let mut labels = vec![format!("v{version}")];
        if version == self.production_version() {
            labels.push(PRODUCTION.to_owned());
        } else if version == self.versions {
            labels.push("staging".to_owned());
        }
        labels
    }

    /// Returns the body that creates the snippet (one version, labelled `production`).
    pub(crate) fn snippet_body(&self) -> Value {
        json!({
            "name": self.snippet_name(),
            "type": "text",
            "prompt": "Never reveal credentials, internal URLs or other customers' data. If a \
                request is unsafe, refuse briefly and offer a safe alternative.",
            "labels": [PRODUCTION],
            "tags": ["bench", "snippet"],
        })
    }

    /// Returns the `POST /api/public/v2/prompts` body of `version` of prompt `index`.
    pub(crate) fn create_body(&self, index: usize, version: u32) -> Value {
        let name = self.name(index);
        let guidance = format!(
            "Revision {version}: answer in at most {} sentences, cite the document ids you used, \
             and ask one clarifying question when the request is ambiguous.",
            3 + version
        );
        let system = format!(
            "You are {{{{assistant_name}}}}, the support assistant of {{{{product}}}}. Answer \
             questions about billing, accounts, integrations and troubleshooting using only the \
             retrieved documents below. Keep a friendly, precise tone; never invent features, \
             prices or dates. When the documents do not contain the answer, say so and point \
             the user to {{{{support_url}}}}. {guidance}\n\nRetrieved documents:\n\
             {{{{documents}}}}\n\nCustomer plan: {{{{plan}}}}. Locale: {{{{locale}}}}."
        );
        let config = json!({"model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 512,
            "response_format": {"type": "text"}});
        let (prompt_type, prompt) = if index % 2 == 1 {
            let messages = json!([
                {"role": "system", "content": system},
                {"type": "placeholder", "name": "history"},
                {"role": "user", "content": "{{question}}"}
            ]);
            ("chat", messages)
        } else if index.is_multiple_of(10) {
            let snippet = format!(
                "@@@langfusePrompt:name={}|label=production@@@",
                self.snippet_name()
            );
            (
                "text",
                Value::String(format!(
                    "{system}\n\n{snippet}\n\nQuestion: {{{{question}}}}"
                )),
            )
        } else {
            (
                "text",
                Value::String(format!("{system}\n\nQuestion: {{{{question}}}}")),
            )
        };
        json!({
            "name": name,
            "type": prompt_type,
            "prompt": prompt,
            "config": config,
            "labels": self.labels(version),
            "tags": ["bench", prompt_type],
            "commitMessage": format!("bench revision {version}"),
        })
    }

    /// Returns the fetches an SDK makes of a hot prompt: its `production` label and its
    /// newest version by number.
    pub(crate) fn hot_keys(&self, index: usize) -> Vec<FetchKey> {
        vec![
            self.key(
                index,
                &format!("label={PRODUCTION}"),
                self.production_version(),
            ),
            self.key(index, &format!("version={}", self.versions), self.versions),
        ]
    }

    /// Returns every distinct fetch of prompt `index`: `production`, each version by number
    /// and each version by its own label. The server caches by (name, label or version), so
    /// each of these misses the cache the first time it is fetched.
    pub(crate) fn distinct_keys(&self, index: usize) -> Vec<FetchKey> {
        let mut keys = vec![self.key(
            index,
            &format!("label={PRODUCTION}"),
            self.production_version(),
        )];
        for version in 1..=self.versions {
            keys.push(self.key(index, &format!("version={version}"), version));
            keys.push(self.key(index, &format!("label=v{version}"), version));
        }
        keys
    }

    fn key(&self, index: usize, query: &str, version: u32) -> FetchKey {
        let name = self.name(index);
        FetchKey {
            path: format!(
                "/api/public/v2/prompts/{}?{query}",
                name.replace('/', "%2F")
            ),
            name,
            version,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn corpus() -> Corpus {
        Corpus {
            folder: "bench-7".to_owned(),
            prompts: 20,
            versions: 4,
        }
    }

    #[test]
    fn labels_mark_production_on_the_last_but_one_version() {
        let corpus = corpus();
        assert_eq!(corpus.production_version(), 3);
        assert_eq!(
            corpus.create_body(0, 3)["labels"],
            json!(["v3", "production"])
        );
        assert_eq!(corpus.create_body(0, 4)["labels"], json!(["v4", "staging"]));
        assert_eq!(corpus.create_body(1, 1)["labels"], json!(["v1"]));
        let single = Corpus {
            versions: 1,
            ..corpus
        };
        assert_eq!(
            single.create_body(0, 1)["labels"],
            json!(["v1", "production"])
        );
    }

    #[test]
    fn bodies_mix_text_chat_and_composed_prompts() {
        let corpus = corpus();
        assert_eq!(corpus.create_body(1, 1)["type"], "chat");
        assert_eq!(corpus.create_body(1, 1)["prompt"][1]["type"], "placeholder");
        let composed = corpus.create_body(10, 1)["prompt"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            composed.contains("@@@langfusePrompt:name=bench-7/snippets/safety|label=production@@@")
        );
        let plain = corpus.create_body(2, 1)["prompt"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(plain.contains("{{assistant_name}}") && !plain.contains("@@@"));
        assert!(
            plain.len() > 500,
            "a realistic system prompt, got {} bytes",
            plain.len()
        );
    }

    #[test]
    fn distinct_keys_are_distinct_and_encode_the_folder() {
        let corpus = corpus();
        let keys: Vec<FetchKey> = (0..corpus.prompts)
            .flat_map(|i| corpus.distinct_keys(i))
            .collect();
        assert_eq!(keys.len(), 20 * 9);
        let paths: HashSet<&str> = keys.iter().map(|key| key.path.as_str()).collect();
        assert_eq!(paths.len(), keys.len());
        assert_eq!(
            keys[0].path,
            "/api/public/v2/prompts/bench-7%2Ftext-00000?label=production"
        );
        assert_eq!(
            (keys[0].name.as_str(), keys[0].version),
            ("bench-7/text-00000", 3)
        );
        assert_eq!(
            corpus.hot_keys(1)[1].path,
            "/api/public/v2/prompts/bench-7%2Fchat-00001?version=4"
        );
    }
}

//! JSON paths for error messages, built on the stack and rendered only when an error occurs.

use std::fmt::Write as _;

/// One step from a parent value to a child.
#[derive(Debug, Clone, Copy)]
enum Segment {
    Root,
    Field(&'static str),
    Index(usize),
}

/// The path of the value being decoded, as a linked list of stack frames.
///
/// Building a child path costs two words and no allocation; the string is assembled by
/// [`JsonPath::render`] only for an error.
#[derive(Debug, Clone, Copy)]
pub(super) struct JsonPath<'a> {
    parent: Option<&'a JsonPath<'a>>,
    segment: Segment,
}

impl<'a> JsonPath<'a> {
    /// Returns the path of the document itself.
    pub(super) fn root() -> JsonPath<'static> {
        JsonPath {
            parent: None,
            segment: Segment::Root,
        }
    }

    /// Returns the path of field `name` of this object.
    pub(super) fn field(&'a self, name: &'static str) -> JsonPath<'a> {
        JsonPath {
            parent: Some(self),
            segment: Segment::Field(name),
        }
    }

    /// Returns the path of element `index` of this array.
    pub(super) fn index(&'a self, index: usize) -> JsonPath<'a> {
        JsonPath {
            parent: Some(self),
            segment: Segment::Index(index),
        }
    }

    /// Renders the path as `resourceSpans[0].scopeSpans[0].spans[2].traceId`; the document
    /// itself renders as `(root)`.
    pub(super) fn render(&self) -> String {
        let mut segments = Vec::new();
        let mut current = Some(self);
        while let Some(path) = current {
            segments.push(path.segment);
            current = path.parent;
        }
        let mut rendered = String::new();
        for segment in segments.iter().rev() {
            match segment {
                Segment::Root => {}
                Segment::Field(name) => {
                    if !rendered.is_empty() {
                        rendered.push('.');
                    }
                    rendered.push_str(name);
                }
                Segment::Index(index) => {
                    // Writing to a String cannot fail.
                    let _ = write!(rendered, "[{index}]");
                }
            }
        }
        if rendered.is_empty() {
            rendered.push_str("(root)");
        }
        rendered
    }
}

#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/expected.hpp"

namespace lienthong {

// The small, side-effect-free expression language of workflow definitions (`<when test="…">`).
// Compiled and type-checked once at load time; evaluating reads fields through an EvalContext,
// never throws, never loops, and allocates nothing beyond copies of the values it reads/returns.
//
//   or_expr    := and_expr { 'or' and_expr }
//   and_expr   := not_expr { 'and' not_expr }
//   not_expr   := 'not' not_expr | comparison
//   comparison := operand [ ('=='|'!='|'<'|'<='|'>'|'>='|'in'|'not' 'in') operand ]
//   operand    := '(' or_expr ')' | literal | field
//   literal    := integer | string | 'true' | 'false' | '[' [string {',' string}] ']'
//               | 'date' '(' string ')'
//   field      := document.type | document.priority | document.sender | document.recipients
//               | document.due_date | document.has_due_date | document.attachment_count
//               | document.steering_type | document.meta.NAME | document.meta[string]
//               | outcome.STEP | outcome[string]
//
// Tokens: keywords are case-sensitive; white space is free between tokens but a field is one
// token (`document.priority`, not `document . priority`). After `outcome.` the step id is the
// longest run of [A-Za-z0-9_.?-], so `outcome.check-docs=='ok'` and `outcome.urgent?` read as
// expected (the language has no arithmetic, so `-`, `.` and `?` are never operators); any id can
// also be written `outcome['id']`. Metadata names are [A-Za-z_][A-Za-z0-9_-]*. Integers are
// decimal int64 with an optional leading `-`; strings use '…' or "…" with the escapes \\, \' and
// \" only; text must be UTF-8 and passes through unchanged.
//
// Types: comparisons need the same type on both sides: `==`/`!=` and `<`/`<=`/`>`/`>=` work on
// integers, strings (byte order, i.e. code point order) and dates; booleans combine only with
// and/or/not and lists are used only on the right of `in`/`not in`, whose left side is a string.
// Chained comparisons (`a < b < c`) are refused.
//
// Missing due date: the context returns kNoDueDate for `document.due_date` when the document has
// none. `document.has_due_date` tests for it. A missing due date behaves like NaN: every
// comparison with it is false except `!=`, which is true; so a condition such as
// `document.due_date < date('2026-01-01')` never fires for a document without a due date.
//
// Limits: text at most 4096 bytes, at most 64 nested parentheses/`not`, lists at most 1000 items.
// Errors: `expression.invalid` (syntax, limits), `expression.unknown_field` (unknown field, step
// or bad metadata name), `expression.type_error`; each message starts with "column N: " (N counts
// characters from 1).

enum class ValueType { boolean, integer, string, string_list, date };
// "boolean", "integer", "string", "string list", "date".
const char* to_string(ValueType type);

struct ExprDate {
  int year, month, day;
  auto operator<=>(const ExprDate&) const = default;
};
// What a context returns for `document.due_date` when the document has no due date.
inline constexpr ExprDate kNoDueDate{0, 0, 0};

// The alternatives are in ValueType order: value.index() == static_cast<size_t>(its ValueType).
using Value = std::variant<bool, std::int64_t, std::string, std::vector<std::string>, ExprDate>;
ValueType type_of(const Value& value);

// A field an expression reads, resolved at compile time so evaluation does no string lookups.
struct FieldRef {
  enum class Kind {
    document_type,              // string: edXML DocumentType/Type
    document_priority,          // integer 0-4
    document_sender,            // string: agency code
    document_recipients,        // string list: agency codes
    document_due_date,          // date, or kNoDueDate (also read by `document.has_due_date`)
    document_attachment_count,  // integer
    document_steering_type,     // integer
    document_meta,              // string: custom metadata `key`, "" when absent
    outcome,                    // string: outcome chosen at step `key`, "" when none yet
  };
  Kind kind;
  std::string key;  // meta name for document_meta, step id for outcome, else empty

  friend bool operator==(const FieldRef&, const FieldRef&) = default;
};
// The type EvalContext::field must return for a field of this kind.
ValueType field_type(FieldRef::Kind kind);
// Source form: "document.priority", "document.meta.so_ky_hieu", "outcome.check-docs".
std::string to_string(const FieldRef& ref);

// What the evaluator reads. A context returns for a missing value the typed default: "" for
// strings (metadata not set, outcome not chosen yet), 0 for integers, an empty list, kNoDueDate.
// Should it return another type or throw anyway, the evaluator uses that typed default.
class EvalContext {
 public:
  virtual ~EvalContext() = default;
  virtual Value field(const FieldRef& ref) const = 0;  // of type field_type(ref.kind)
};

// What names exist at compile time.
struct ExpressionSchema {
  // Is `outcome.<step>` allowed? Unset: no step is known and every outcome reference is refused.
  std::function<bool(std::string_view step_id)> is_outcome_step;
};

class ExpressionCompiler;

class Expression {
 public:
  static Expected<Expression> compile(std::string_view text, const ExpressionSchema& schema);
  // compile() and also require a boolean result, as a `when test` does.
  static Expected<Expression> compile_condition(std::string_view text,
                                                const ExpressionSchema& schema);

  ValueType type() const { return type_; }
  // A value of type(); a date may be kNoDueDate when the expression is `document.due_date`.
  Value evaluate(const EvalContext& ctx) const noexcept;
  // The result of a boolean expression; false for any other type.
  bool test(const EvalContext& ctx) const noexcept;
  const std::string& text() const { return text_; }
  // Every field it reads, each once, in order of first appearance (for validators).
  const std::vector<FieldRef>& fields() const { return fields_; }

 private:
  friend class ExpressionCompiler;

  enum class Op : std::uint8_t {
    constant,         // a: index into constants_
    field,            // a: index into fields_
    has_due_date,     // a: index into fields_ (the due date)
    all,              // and: children_[a, a + b)
    any,              // or: children_[a, a + b)
    negate,           // not: node a
    compare_integer,  // nodes a, b
    compare_string,   // nodes a, b
    compare_date,     // nodes a, b
    in_sorted,        // string node a in sorted, unique constant list b
    in_list,          // string node a in list node b
  };
  enum class Cmp : std::uint8_t { eq, ne, lt, le, gt, ge };
  struct Node {
    Op op = Op::constant;
    Cmp cmp = Cmp::eq;
    bool negated = false;  // `not in`
    ValueType type = ValueType::boolean;
    std::uint32_t a = 0;
    std::uint32_t b = 0;
  };

  Expression() = default;

  bool eval_bool(std::uint32_t node, const EvalContext& ctx) const noexcept;
  Value read(std::uint32_t field, const EvalContext& ctx) const noexcept;
  std::int64_t integer_of(const Node& node, const EvalContext& ctx) const noexcept;
  ExprDate date_of(const Node& node, const EvalContext& ctx) const noexcept;
  const std::string& string_of(const Node& node, const EvalContext& ctx,
                               std::string& scratch) const noexcept;
  const std::vector<std::string>& list_of(const Node& node, const EvalContext& ctx,
                                          std::vector<std::string>& scratch) const noexcept;

  std::string text_;
  ValueType type_ = ValueType::boolean;
  std::uint32_t root_ = 0;
  std::vector<Node> nodes_;
  std::vector<std::uint32_t> children_;
  std::vector<Value> constants_;
  std::vector<FieldRef> fields_;
};

// Same as Expression::compile_condition.
Expected<Expression> compile_condition(std::string_view text, const ExpressionSchema& schema);

}  // namespace lienthong

#include "workflows/expression.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <type_traits>
#include <utility>

namespace lienthong {

static_assert(std::is_same_v<std::variant_alternative_t<0, Value>, bool>);
static_assert(std::is_same_v<std::variant_alternative_t<1, Value>, std::int64_t>);
static_assert(std::is_same_v<std::variant_alternative_t<2, Value>, std::string>);
static_assert(std::is_same_v<std::variant_alternative_t<3, Value>, std::vector<std::string>>);
static_assert(std::is_same_v<std::variant_alternative_t<4, Value>, ExprDate>);
static_assert(static_cast<int>(ValueType::date) == 4);

namespace {

constexpr std::size_t kMaxTextBytes = 4096;
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxListItems = 1000;

constexpr const char* kInvalid = "expression.invalid";
constexpr const char* kUnknownField = "expression.unknown_field";
constexpr const char* kTypeError = "expression.type_error";

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_word_char(char c) {
  return is_alpha(c) || is_digit(c) || c == '_';
}
bool is_step_char(char c) {
  return is_word_char(c) || c == '.' || c == '?' || c == '-';
}

bool valid_step_id(std::string_view id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), is_step_char);
}
bool valid_meta_name(std::string_view name) {
  if (name.empty() || !(is_alpha(name[0]) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_word_char(c) || c == '-'; });
}

// Columns count characters (UTF-8 code points) from 1, so they match what an editor shows.
std::size_t column_of(std::string_view text, std::size_t offset) {
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
  }
  return column;
}

// Offset of the first byte that is not well-formed UTF-8, or npos.
std::size_t invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c == 0xE0) {
      n = 2, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      n = 2;
    } else if (c == 0xED) {
      n = 2, hi = 0x9F;  // no surrogates
    } else if (c == 0xF0) {
      n = 3, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      n = 3;
    } else if (c == 0xF4) {
      n = 3, hi = 0x8F;
    } else {
      return i;
    }
    if (s.size() - i <= n) return i;
    for (std::size_t k = 1; k <= n; ++k) {
      unsigned d = static_cast<unsigned char>(s[i + k]);
      if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return i;
    }
    i += n + 1;
  }
  return std::string_view::npos;
}

// The whole (valid UTF-8) character at `offset`, for messages; control characters as U+XXXX.
std::string character_at(std::string_view text, std::size_t offset) {
  unsigned char c = static_cast<unsigned char>(text[offset]);
  if (c < 0x20 || c == 0x7F) {
    const char* digits = "0123456789ABCDEF";
    return std::string("U+00") + digits[c >> 4] + digits[c & 0xF];
  }
  std::size_t n = 1;
  while (offset + n < text.size() &&
         (static_cast<unsigned char>(text[offset + n]) & 0xC0) == 0x80) {
    ++n;
  }
  return std::string(text.substr(offset, n));
}

std::optional<ExprDate> parse_iso_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto number = [&](std::size_t from, std::size_t count) {
    int value = 0;
    for (std::size_t i = from; i < from + count; ++i) {
      if (!is_digit(s[i])) return -1;
      value = value * 10 + (s[i] - '0');
    }
    return value;
  };
  int year = number(0, 4), month = number(5, 2), day = number(8, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1) return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int last = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  if (day > last) return std::nullopt;
  return ExprDate{year, month, day};
}

enum class Tok : std::uint8_t {
  end,
  error,  // a malformed token; the lexer's error says why
  integer,
  string,
  word,  // [A-Za-z_][A-Za-z0-9_]*: keywords, `outcome`, unknown names
  path,  // a word, '.', then [A-Za-z0-9_.?-]*: `document.priority`, `outcome.check-docs`
  lparen,
  rparen,
  lbracket,
  rbracket,
  comma,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
};

struct Token {
  Tok kind = Tok::end;
  std::size_t offset = 0;
  std::string_view raw;  // as written
  std::string str;       // decoded string literal
  std::int64_t integer = 0;
};

Error error_at(std::string_view text, const char* code, std::size_t offset,
               const std::string& message) {
  return Error{code, "column " + std::to_string(column_of(text, offset)) + ": " + message};
}

// All tokens of `text`, ending with Tok::end, or with Tok::error at the first malformed one (and
// `error` set). The parser reports that error only when it reaches the token, so the error shown
// is always the leftmost one.
std::vector<Token> lex(std::string_view text, Error& error) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  const std::size_t n = text.size();
  auto fail = [&](std::size_t at, const std::string& message) {
    error = error_at(text, kInvalid, at, message);
    Token t;
    t.kind = Tok::error;
    t.offset = at;
    tokens.push_back(std::move(t));
  };
  while (true) {
    while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
    Token t;
    t.offset = i;
    if (i == n) {
      tokens.push_back(std::move(t));
      return tokens;
    }
    const char c = text[i];
    std::size_t j = i + 1;
    if (is_alpha(c) || c == '_') {
      while (j < n && is_word_char(text[j])) ++j;
      t.kind = Tok::word;
      if (j < n && text[j] == '.') {
        ++j;
        while (j < n && is_step_char(text[j])) ++j;
        t.kind = Tok::path;
      }
    } else if (is_digit(c) || (c == '-' && j < n && is_digit(text[j]))) {
      while (j < n && is_digit(text[j])) ++j;
      if (j < n && is_word_char(text[j])) {
        while (j < n && is_word_char(text[j])) ++j;
        fail(i, "invalid number '" + std::string(text.substr(i, j - i)) + "'");
        return tokens;
      }
      auto [end, ec] = std::from_chars(text.data() + i, text.data() + j, t.integer);
      if (ec != std::errc() || end != text.data() + j) {
        fail(i, "integer " + std::string(text.substr(i, j - i)) +
                    " is out of range (-9223372036854775808 to 9223372036854775807)");
        return tokens;
      }
      t.kind = Tok::integer;
    } else if (c == '\'' || c == '"') {
      bool closed = false;
      while (j < n) {
        if (text[j] == c) {
          closed = true;
          ++j;
          break;
        }
        if (text[j] == '\\') {
          if (j + 1 >= n) break;
          const char e = text[j + 1];
          if (e != '\\' && e != '\'' && e != '"') {
            fail(j, "unknown escape \\" + character_at(text, j + 1) +
                        " in string; only \\\\, \\' and \\\" are allowed");
            return tokens;
          }
          t.str += e;
          j += 2;
          continue;
        }
        std::size_t run = j;
        while (run < n && text[run] != c && text[run] != '\\') ++run;
        t.str.append(text.data() + j, run - j);
        j = run;
      }
      if (!closed) {
        fail(i, "unterminated string");
        return tokens;
      }
      t.kind = Tok::string;
    } else {
      const char next = j < n ? text[j] : '\0';
      switch (c) {
        case '(':
          t.kind = Tok::lparen;
          break;
        case ')':
          t.kind = Tok::rparen;
          break;
        case '[':
          t.kind = Tok::lbracket;
          break;
        case ']':
          t.kind = Tok::rbracket;
          break;
        case ',':
          t.kind = Tok::comma;
          break;
        case '<':
          t.kind = next == '=' ? Tok::le : Tok::lt;
          j += next == '=' ? 1 : 0;
          break;
        case '>':
          t.kind = next == '=' ? Tok::ge : Tok::gt;
          j += next == '=' ? 1 : 0;
          break;
        case '=':
          if (next != '=') {
            fail(i, "unexpected '='; compare with '=='");
            return tokens;
          }
          t.kind = Tok::eq;
          ++j;
          break;
        case '!':
          if (next != '=') {
            fail(i, "unexpected '!'; negate with 'not'");
            return tokens;
          }
          t.kind = Tok::ne;
          ++j;
          break;
        case '&':
          fail(i, "unexpected '&'; use 'and'");
          return tokens;
        case '|':
          fail(i, "unexpected '|'; use 'or'");
          return tokens;
        default:
          fail(i, "unexpected character '" + character_at(text, i) + "'");
          return tokens;
      }
    }
    t.raw = text.substr(i, j - i);
    tokens.push_back(std::move(t));
    i = j;
  }
}

bool holds(std::uint8_t cmp, std::strong_ordering order) {
  switch (cmp) {
    case 0:
      return order == 0;
    case 1:
      return order != 0;
    case 2:
      return order < 0;
    case 3:
      return order <= 0;
    case 4:
      return order > 0;
    case 5:
      return order >= 0;
  }
  return false;
}

Value default_of(ValueType type) {
  switch (type) {
    case ValueType::boolean:
      return false;
    case ValueType::integer:
      return std::int64_t{0};
    case ValueType::string:
      return std::string();
    case ValueType::string_list:
      return std::vector<std::string>();
    case ValueType::date:
      return kNoDueDate;
  }
  return false;
}

struct DocumentField {
  std::string_view name;
  FieldRef::Kind kind;
};
constexpr DocumentField kDocumentFields[] = {
    {"type", FieldRef::Kind::document_type},
    {"priority", FieldRef::Kind::document_priority},
    {"sender", FieldRef::Kind::document_sender},
    {"recipients", FieldRef::Kind::document_recipients},
    {"due_date", FieldRef::Kind::document_due_date},
    {"attachment_count", FieldRef::Kind::document_attachment_count},
    {"steering_type", FieldRef::Kind::document_steering_type},
};

}  // namespace

const char* to_string(ValueType type) {
  switch (type) {
    case ValueType::boolean:
      return "boolean";
    case ValueType::integer:
      return "integer";
    case ValueType::string:
      return "string";
    case ValueType::string_list:
      return "string list";
    case ValueType::date:
      return "date";
  }
  return "?";
}

ValueType type_of(const Value& value) {
  return static_cast<ValueType>(value.index());
}

ValueType field_type(FieldRef::Kind kind) {
  switch (kind) {
    case FieldRef::Kind::document_priority:
    case FieldRef::Kind::document_attachment_count:
    case FieldRef::Kind::document_steering_type:
      return ValueType::integer;
    case FieldRef::Kind::document_recipients:
      return ValueType::string_list;
    case FieldRef::Kind::document_due_date:
      return ValueType::date;
    case FieldRef::Kind::document_type:
    case FieldRef::Kind::document_sender:
    case FieldRef::Kind::document_meta:
    case FieldRef::Kind::outcome:
      return ValueType::string;
  }
  return ValueType::string;
}

std::string to_string(const FieldRef& ref) {
  switch (ref.kind) {
    case FieldRef::Kind::document_meta:
      return "document.meta." + ref.key;
    case FieldRef::Kind::outcome:
      return "outcome." + ref.key;
    default:
      break;
  }
  for (const auto& f : kDocumentFields) {
    if (f.kind == ref.kind) return "document." + std::string(f.name);
  }
  return "?";
}

// ---- compiler ----------------------------------------------------------------------------------

class ExpressionCompiler {
 public:
  ExpressionCompiler(std::string_view text, const ExpressionSchema& schema)
      : text_(text), schema_(schema) {}

  Expected<Expression> run() {
    if (text_.size() > kMaxTextBytes) {
      return Error{kInvalid, "column 1: expression is " + std::to_string(text_.size()) +
                                 " bytes long; at most " + std::to_string(kMaxTextBytes) +
                                 " are allowed"};
    }
    if (auto bad = invalid_utf8_at(text_); bad != std::string_view::npos) {
      return error_at(text_, kInvalid, bad, "invalid UTF-8");
    }
    tokens_ = lex(text_, lex_error_);
    if (peek().kind == Tok::end) return Error{kInvalid, "column 1: empty expression"};
    auto root = parse_or(0);
    if (root && peek().kind != Tok::end) {
      if (peek().kind == Tok::error) {
        error_ = lex_error_;
      } else {
        fail(kInvalid, peek().offset,
             "unexpected '" + std::string(peek().raw) + "' after a complete expression");
      }
      root.reset();
    }
    if (!root) return std::move(*error_);
    out_.text_ = std::string(text_);
    out_.type_ = root->type;
    out_.root_ = root->node;
    return std::move(out_);
  }

 private:
  using Node = Expression::Node;
  using Op = Expression::Op;
  using Cmp = Expression::Cmp;

  // A parsed subexpression: its node, where it starts, its type.
  struct Sub {
    std::uint32_t node;
    std::size_t offset;
    ValueType type;
  };
  using Parsed = std::optional<Sub>;

  const Token& peek(std::size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  bool at_word(std::string_view word, std::size_t ahead = 0) const {
    const Token& t = peek(ahead);
    return t.kind == Tok::word && t.raw == word;
  }

  std::nullopt_t fail(const char* code, std::size_t offset, const std::string& message) {
    if (!error_) error_ = error_at(text_, code, offset, message);
    return std::nullopt;
  }
  std::nullopt_t unexpected(const Token& t, const std::string& expected) {
    if (t.kind == Tok::error) {
      if (!error_) error_ = lex_error_;
      return std::nullopt;
    }
    if (t.kind == Tok::end) {
      return fail(kInvalid, t.offset, "expected " + expected + " but the expression ends");
    }
    return fail(kInvalid, t.offset,
                "expected " + expected + " but found '" + std::string(t.raw) + "'");
  }
  std::nullopt_t too_deep(std::size_t offset) {
    return fail(kInvalid, offset,
                "expression nests deeper than " + std::to_string(kMaxDepth) + " levels");
  }

  std::uint32_t add(const Node& node) {
    out_.nodes_.push_back(node);
    return static_cast<std::uint32_t>(out_.nodes_.size() - 1);
  }
  Sub constant(Value value, std::size_t offset) {
    ValueType type = type_of(value);
    out_.constants_.push_back(std::move(value));
    Node n;
    n.op = Op::constant;
    n.type = type;
    n.a = static_cast<std::uint32_t>(out_.constants_.size() - 1);
    return Sub{add(n), offset, type};
  }
  std::uint32_t slot(FieldRef ref) {
    auto& fields = out_.fields_;
    auto it = std::find(fields.begin(), fields.end(), ref);
    if (it != fields.end()) return static_cast<std::uint32_t>(it - fields.begin());
    fields.push_back(std::move(ref));
    return static_cast<std::uint32_t>(fields.size() - 1);
  }
  Sub field(FieldRef::Kind kind, std::string key, std::size_t offset) {
    Node n;
    n.op = Op::field;
    n.type = field_type(kind);
    n.a = slot(FieldRef{kind, std::move(key)});
    return Sub{add(n), offset, n.type};
  }

  // or_expr / and_expr: one n-ary node, so long chains do not make deep trees.
  Parsed parse_chain(int depth, std::string_view keyword, Op op,
                     Parsed (ExpressionCompiler::*operand)(int)) {
    Parsed first = (this->*operand)(depth);
    if (!first || !at_word(keyword)) return first;
    std::vector<std::uint32_t> kids;
    Parsed next = first;
    while (true) {
      if (next->type != ValueType::boolean) {
        return fail(
            kTypeError, next->offset,
            "'" + std::string(keyword) + "' needs boolean operands, got " + to_string(next->type));
      }
      kids.push_back(next->node);
      if (!at_word(keyword)) break;
      ++pos_;
      next = (this->*operand)(depth);
      if (!next) return std::nullopt;
    }
    Node n;
    n.op = op;
    n.a = static_cast<std::uint32_t>(out_.children_.size());
    n.b = static_cast<std::uint32_t>(kids.size());
    out_.children_.insert(out_.children_.end(), kids.begin(), kids.end());
    return Sub{add(n), first->offset, ValueType::boolean};
  }
  Parsed parse_or(int depth) {
    return parse_chain(depth, "or", Op::any, &ExpressionCompiler::parse_and);
  }
  Parsed parse_and(int depth) {
    return parse_chain(depth, "and", Op::all, &ExpressionCompiler::parse_not);
  }

  Parsed parse_not(int depth) {
    if (!at_word("not")) return parse_comparison(depth);
    const std::size_t offset = peek().offset;
    if (depth >= kMaxDepth) return too_deep(offset);
    ++pos_;
    Parsed inner = parse_not(depth + 1);
    if (!inner) return std::nullopt;
    if (inner->type != ValueType::boolean) {
      return fail(kTypeError, inner->offset,
                  std::string("'not' needs a boolean operand, got ") + to_string(inner->type));
    }
    Node n;
    n.op = Op::negate;
    n.a = inner->node;
    return Sub{add(n), offset, ValueType::boolean};
  }

  // A comparison operator at the current token: its Cmp, or 6 for `in`, 7 for `not in`;
  // `width` is how many tokens it takes.
  std::optional<int> comparison_at(std::size_t& width) const {
    width = 1;
    switch (peek().kind) {
      case Tok::eq:
        return 0;
      case Tok::ne:
        return 1;
      case Tok::lt:
        return 2;
      case Tok::le:
        return 3;
      case Tok::gt:
        return 4;
      case Tok::ge:
        return 5;
      default:
        break;
    }
    if (at_word("in")) return 6;
    if (at_word("not") && at_word("in", 1)) {
      width = 2;
      return 7;
    }
    return std::nullopt;
  }

  Parsed parse_comparison(int depth) {
    Parsed left = parse_operand(depth);
    if (!left) return std::nullopt;
    std::size_t width = 1;
    auto op = comparison_at(width);
    if (!op) return left;
    const std::string op_text = *op == 6 ? "in" : *op == 7 ? "not in" : std::string(peek().raw);
    pos_ += width;
    Parsed right = parse_operand(depth);
    if (!right) return std::nullopt;
    Parsed result = *op >= 6 ? membership(*left, *right, *op == 7, op_text)
                             : compare(*left, *right, static_cast<Cmp>(*op));
    if (!result) return std::nullopt;
    if (comparison_at(width)) {
      return fail(kInvalid, peek().offset,
                  "comparisons cannot be chained ('" + std::string(peek().raw) + "' after '" +
                      op_text + "'); combine them with 'and'");
    }
    return result;
  }

  Parsed compare(const Sub& left, const Sub& right, Cmp cmp) {
    if (left.type != right.type) {
      return fail(
          kTypeError, left.offset,
          std::string("cannot compare ") + to_string(left.type) + " with " + to_string(right.type));
    }
    Node n;
    n.cmp = cmp;
    n.a = left.node;
    n.b = right.node;
    switch (left.type) {
      case ValueType::boolean:
        return fail(kTypeError, left.offset,
                    "cannot compare booleans; combine them with 'and', 'or' and 'not'");
      case ValueType::string_list:
        return fail(kTypeError, left.offset,
                    "cannot compare string lists; test membership with 'in'");
      case ValueType::integer:
        n.op = Op::compare_integer;
        break;
      case ValueType::string:
        n.op = Op::compare_string;
        break;
      case ValueType::date:
        n.op = Op::compare_date;
        break;
    }
    return Sub{add(n), left.offset, ValueType::boolean};
  }

  Parsed membership(const Sub& left, const Sub& right, bool negated, const std::string& op) {
    if (left.type != ValueType::string || right.type != ValueType::string_list) {
      return fail(kTypeError, left.offset,
                  "'" + op + "' needs a string on the left and a string list on the right, got " +
                      to_string(left.type) + " " + op + " " + to_string(right.type));
    }
    Node n;
    n.negated = negated;
    n.a = left.node;
    const Node& list = out_.nodes_[right.node];
    if (list.op == Op::constant) {
      // A literal list: keep a sorted, unique copy for binary search.
      auto sorted = std::get<std::vector<std::string>>(out_.constants_[list.a]);
      std::sort(sorted.begin(), sorted.end());
      sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
      out_.constants_.push_back(std::move(sorted));
      n.op = Op::in_sorted;
      n.b = static_cast<std::uint32_t>(out_.constants_.size() - 1);
    } else {
      n.op = Op::in_list;
      n.b = right.node;
    }
    return Sub{add(n), left.offset, ValueType::boolean};
  }

  Parsed parse_operand(int depth) {
    const Token& t = peek();
    const std::size_t offset = t.offset;
    switch (t.kind) {
      case Tok::lparen: {
        if (depth >= kMaxDepth) return too_deep(offset);
        ++pos_;
        Parsed inner = parse_or(depth + 1);
        if (!inner) return std::nullopt;
        if (peek().kind != Tok::rparen) {
          return unexpected(
              peek(), "')' to close the '(' at column " + std::to_string(column_of(text_, offset)));
        }
        ++pos_;
        return Sub{inner->node, offset, inner->type};
      }
      case Tok::integer:
        ++pos_;
        return constant(t.integer, offset);
      case Tok::string:
        ++pos_;
        return constant(t.str, offset);
      case Tok::lbracket:
        return parse_list();
      case Tok::path:
        return parse_path();
      case Tok::word:
        break;
      default:
        return unexpected(t, "a value");
    }
    if (t.raw == "true" || t.raw == "false") {
      ++pos_;
      return constant(t.raw == "true", offset);
    }
    if (t.raw == "date") return parse_date();
    if (t.raw == "outcome" && peek(1).kind == Tok::lbracket) {
      pos_ += 2;
      auto key = bracket_key();
      if (!key) return std::nullopt;
      return outcome(*key, offset, "outcome['" + *key + "']");
    }
    if (t.raw == "and" || t.raw == "or" || t.raw == "not" || t.raw == "in") {
      return unexpected(t, "a value");
    }
    return fail(kUnknownField, offset, "unknown field '" + std::string(t.raw) + "'");
  }

  // After `[`: a string literal and `]`.
  std::optional<std::string> bracket_key() {
    const Token& t = peek();
    if (t.kind != Tok::string) return unexpected(t, "a quoted name after '['");
    ++pos_;
    if (peek().kind != Tok::rbracket) return unexpected(peek(), "']'");
    ++pos_;
    return t.str;
  }

  Parsed parse_path() {
    const Token& t = peek();
    const std::size_t offset = t.offset;
    const std::string_view raw = t.raw;
    ++pos_;
    if (raw.starts_with("outcome.")) return outcome(raw.substr(8), offset, std::string(raw));
    if (raw.starts_with("document.")) {
      const std::string_view rest = raw.substr(9);
      if (rest == "meta") {
        if (peek().kind != Tok::lbracket) {
          return fail(kUnknownField, offset,
                      "'document.meta' needs a name, as in document.meta.so_ky_hieu");
        }
        ++pos_;
        auto key = bracket_key();
        if (!key) return std::nullopt;
        return meta(*key, offset, "document.meta['" + *key + "']");
      }
      if (rest.starts_with("meta.")) return meta(rest.substr(5), offset, std::string(raw));
      if (rest == "has_due_date") {
        Node n;
        n.op = Op::has_due_date;
        n.a = slot(FieldRef{FieldRef::Kind::document_due_date, {}});
        return Sub{add(n), offset, ValueType::boolean};
      }
      for (const auto& f : kDocumentFields) {
        if (f.name == rest) return field(f.kind, {}, offset);
      }
    }
    return fail(kUnknownField, offset, "unknown field '" + std::string(raw) + "'");
  }

  Parsed meta(std::string_view name, std::size_t offset, const std::string& shown) {
    if (!valid_meta_name(name)) {
      return fail(kUnknownField, offset,
                  "invalid metadata name '" + std::string(name) + "' in '" + shown +
                      "'; a name is letters, digits, '_' and '-', starting with a letter or '_'");
    }
    return field(FieldRef::Kind::document_meta, std::string(name), offset);
  }

  Parsed outcome(std::string_view step, std::size_t offset, const std::string& shown) {
    if (step.empty()) {
      return fail(kUnknownField, offset,
                  "'" + shown + "' needs a step id, as in outcome.review or outcome['review']");
    }
    if (!valid_step_id(step)) {
      return fail(kUnknownField, offset,
                  "invalid step id '" + std::string(step) + "' in '" + shown +
                      "'; a step id is letters, digits, '_', '.', '?' and '-'");
    }
    if (!schema_.is_outcome_step || !schema_.is_outcome_step(step)) {
      return fail(kUnknownField, offset,
                  "unknown step '" + std::string(step) + "' in '" + shown + "'");
    }
    return field(FieldRef::Kind::outcome, std::string(step), offset);
  }

  Parsed parse_list() {
    const std::size_t offset = peek().offset;
    ++pos_;
    std::vector<std::string> items;
    if (peek().kind == Tok::rbracket) {
      ++pos_;
      return constant(std::move(items), offset);
    }
    while (true) {
      const Token& t = peek();
      if (t.kind != Tok::string) return unexpected(t, "a quoted string in the list");
      if (items.size() == kMaxListItems) {
        return fail(kInvalid, t.offset,
                    "a list holds at most " + std::to_string(kMaxListItems) + " items");
      }
      items.push_back(t.str);
      ++pos_;
      if (peek().kind == Tok::comma) {
        ++pos_;
      } else if (peek().kind == Tok::rbracket) {
        ++pos_;
        return constant(std::move(items), offset);
      } else {
        return unexpected(peek(), "',' or ']' in the list");
      }
    }
  }

  Parsed parse_date() {
    const std::size_t offset = peek().offset;
    ++pos_;
    if (peek().kind != Tok::lparen) return unexpected(peek(), "'(' after 'date'");
    ++pos_;
    const Token& s = peek();
    if (s.kind != Tok::string) return unexpected(s, "a quoted date such as date('2026-12-31')");
    auto date = parse_iso_date(s.str);
    if (!date) {
      return fail(kInvalid, s.offset,
                  "invalid date '" + s.str + "'; expected a calendar date YYYY-MM-DD");
    }
    ++pos_;
    if (peek().kind != Tok::rparen) return unexpected(peek(), "')' after the date");
    ++pos_;
    return constant(*date, offset);
  }

  std::string_view text_;
  const ExpressionSchema& schema_;
  std::vector<Token> tokens_;
  Error lex_error_;
  std::size_t pos_ = 0;
  std::optional<Error> error_;
  Expression out_;
};

// ---- Expression --------------------------------------------------------------------------------

Expected<Expression> Expression::compile(std::string_view text, const ExpressionSchema& schema) {
  return ExpressionCompiler(text, schema).run();
}

Expected<Expression> Expression::compile_condition(std::string_view text,
                                                   const ExpressionSchema& schema) {
  auto e = compile(text, schema);
  if (e && e->type() != ValueType::boolean) {
    return Error{kTypeError,
                 std::string("column 1: a condition must be boolean, got ") + to_string(e->type())};
  }
  return e;
}

Expected<Expression> compile_condition(std::string_view text, const ExpressionSchema& schema) {
  return Expression::compile_condition(text, schema);
}

Value Expression::read(std::uint32_t field, const EvalContext& ctx) const noexcept {
  try {
    return ctx.field(fields_[field]);
  } catch (...) {
    return Value();  // a bool, which no field is: every reader falls back to its default
  }
}

std::int64_t Expression::integer_of(const Node& node, const EvalContext& ctx) const noexcept {
  if (node.op == Op::constant) {
    const auto* p = std::get_if<std::int64_t>(&constants_[node.a]);
    return p ? *p : 0;
  }
  Value v = read(node.a, ctx);
  const auto* p = std::get_if<std::int64_t>(&v);
  return p ? *p : 0;
}

ExprDate Expression::date_of(const Node& node, const EvalContext& ctx) const noexcept {
  if (node.op == Op::constant) {
    const auto* p = std::get_if<ExprDate>(&constants_[node.a]);
    return p ? *p : kNoDueDate;
  }
  Value v = read(node.a, ctx);
  const auto* p = std::get_if<ExprDate>(&v);
  return p ? *p : kNoDueDate;
}

const std::string& Expression::string_of(const Node& node, const EvalContext& ctx,
                                         std::string& scratch) const noexcept {
  if (node.op == Op::constant) {
    const auto* p = std::get_if<std::string>(&constants_[node.a]);
    return p ? *p : scratch;
  }
  Value v = read(node.a, ctx);
  if (auto* p = std::get_if<std::string>(&v)) scratch = std::move(*p);
  return scratch;
}

const std::vector<std::string>& Expression::list_of(
    const Node& node, const EvalContext& ctx, std::vector<std::string>& scratch) const noexcept {
  if (node.op == Op::constant) {
    const auto* p = std::get_if<std::vector<std::string>>(&constants_[node.a]);
    return p ? *p : scratch;
  }
  Value v = read(node.a, ctx);
  if (auto* p = std::get_if<std::vector<std::string>>(&v)) scratch = std::move(*p);
  return scratch;
}

bool Expression::eval_bool(std::uint32_t index, const EvalContext& ctx) const noexcept {
  const Node& n = nodes_[index];
  const auto cmp = static_cast<std::uint8_t>(n.cmp);
  switch (n.op) {
    case Op::constant: {
      const auto* p = std::get_if<bool>(&constants_[n.a]);
      return p && *p;
    }
    case Op::field:
      return false;  // no field is boolean
    case Op::has_due_date: {
      Value v = read(n.a, ctx);
      const auto* p = std::get_if<ExprDate>(&v);
      return p && *p != kNoDueDate;
    }
    case Op::all:
      for (std::uint32_t i = n.a; i < n.a + n.b; ++i) {
        if (!eval_bool(children_[i], ctx)) return false;
      }
      return true;
    case Op::any:
      for (std::uint32_t i = n.a; i < n.a + n.b; ++i) {
        if (eval_bool(children_[i], ctx)) return true;
      }
      return false;
    case Op::negate:
      return !eval_bool(n.a, ctx);
    case Op::compare_integer:
      return holds(cmp, integer_of(nodes_[n.a], ctx) <=> integer_of(nodes_[n.b], ctx));
    case Op::compare_string: {
      std::string left_scratch, right_scratch;
      const std::string& left = string_of(nodes_[n.a], ctx, left_scratch);
      const std::string& right = string_of(nodes_[n.b], ctx, right_scratch);
      return holds(cmp, left <=> right);
    }
    case Op::compare_date: {
      const ExprDate left = date_of(nodes_[n.a], ctx);
      const ExprDate right = date_of(nodes_[n.b], ctx);
      // A missing due date is unordered, like NaN: only `!=` holds.
      if (left == kNoDueDate || right == kNoDueDate) return n.cmp == Cmp::ne;
      return holds(cmp, left <=> right);
    }
    case Op::in_sorted: {
      std::string scratch;
      const std::string& item = string_of(nodes_[n.a], ctx, scratch);
      const auto* list = std::get_if<std::vector<std::string>>(&constants_[n.b]);
      const bool found = list && std::binary_search(list->begin(), list->end(), item);
      return found != n.negated;
    }
    case Op::in_list: {
      std::string scratch;
      std::vector<std::string> list_scratch;
      const std::string& item = string_of(nodes_[n.a], ctx, scratch);
      const auto& list = list_of(nodes_[n.b], ctx, list_scratch);
      const bool found = std::find(list.begin(), list.end(), item) != list.end();
      return found != n.negated;
    }
  }
  return false;
}

Value Expression::evaluate(const EvalContext& ctx) const noexcept {
  if (root_ >= nodes_.size()) return default_of(type_);  // moved-from
  if (type_ == ValueType::boolean) return eval_bool(root_, ctx);
  // Without arithmetic every non-boolean expression is a single constant or field.
  const Node& n = nodes_[root_];
  try {
    Value v = n.op == Op::constant ? constants_[n.a] : read(n.a, ctx);
    if (type_of(v) == type_) return v;
  } catch (...) {
  }
  return default_of(type_);
}

bool Expression::test(const EvalContext& ctx) const noexcept {
  if (type_ != ValueType::boolean || root_ >= nodes_.size()) return false;
  return eval_bool(root_, ctx);
}

}  // namespace lienthong

#include "workflows/expression.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace lienthong {
namespace {

// A document and outcomes as the runtime would expose them.
struct FakeContext : EvalContext {
  std::string type = "1";
  std::int64_t priority = 0;
  std::string sender = "000.00.00.G22";
  std::vector<std::string> recipients = {"000.00.01.H01", "000.00.02.H02"};
  ExprDate due_date = kNoDueDate;
  std::int64_t attachment_count = 0;
  std::int64_t steering_type = 0;
  std::map<std::string, std::string> meta;
  std::map<std::string, std::string> outcomes;
  mutable int reads = 0;

  Value field(const FieldRef& ref) const override {
    ++reads;
    switch (ref.kind) {
      case FieldRef::Kind::document_type:
        return type;
      case FieldRef::Kind::document_priority:
        return priority;
      case FieldRef::Kind::document_sender:
        return sender;
      case FieldRef::Kind::document_recipients:
        return recipients;
      case FieldRef::Kind::document_due_date:
        return due_date;
      case FieldRef::Kind::document_attachment_count:
        return attachment_count;
      case FieldRef::Kind::document_steering_type:
        return steering_type;
      case FieldRef::Kind::document_meta: {
        auto it = meta.find(ref.key);
        return it == meta.end() ? std::string() : it->second;
      }
      case FieldRef::Kind::outcome: {
        auto it = outcomes.find(ref.key);
        return it == outcomes.end() ? std::string() : it->second;
      }
    }
    return false;
  }
};

// A context that breaks its contract: wrong types, or throws.
struct BadContext : EvalContext {
  bool throws = false;
  Value field(const FieldRef&) const override {
    if (throws) throw std::runtime_error("store unavailable");
    return true;
  }
};

const std::set<std::string> kSteps = {"register", "check-docs", "urgent?", "v1.2", "a_b", "x"};

ExpressionSchema schema() {
  ExpressionSchema s;
  s.is_outcome_step = [](std::string_view id) { return kSteps.count(std::string(id)) > 0; };
  return s;
}

Expression compiled(std::string_view text) {
  auto e = Expression::compile(text, schema());
  EXPECT_TRUE(e) << text << ": " << (e ? "" : e.error().message);
  if (!e) return *Expression::compile("false", schema());
  return std::move(*e);
}

bool eval(std::string_view text, const EvalContext& ctx) {
  auto e = compiled(text);
  EXPECT_EQ(e.type(), ValueType::boolean) << text;
  bool result = e.test(ctx);
  Value v = e.evaluate(ctx);
  EXPECT_EQ(std::get_if<bool>(&v) != nullptr && *std::get_if<bool>(&v), result) << text;
  return result;
}

bool eval(std::string_view text) {
  return eval(text, FakeContext{});
}

Error error_of(std::string_view text, const ExpressionSchema& s = schema()) {
  auto e = Expression::compile(text, s);
  EXPECT_FALSE(e) << text << " compiled";
  return e ? Error{} : e.error();
}

#define EXPECT_COMPILE_ERROR(text, code_, message_) \
  do {                                              \
    Error err_ = error_of(text);                    \
    EXPECT_EQ(err_.code, code_) << (text);          \
    EXPECT_EQ(err_.message, message_) << (text);    \
  } while (0)

// ---- the example and precedence ---------------------------------------------------------------

TEST(Expression, DesignExample) {
  auto e = compiled("document.priority >= 2 and document.type in ['1', '2']");
  EXPECT_EQ(e.text(), "document.priority >= 2 and document.type in ['1', '2']");
  EXPECT_EQ(e.type(), ValueType::boolean);
  FakeContext doc;
  doc.priority = 2;
  doc.type = "2";
  EXPECT_TRUE(e.test(doc));
  doc.type = "3";
  EXPECT_FALSE(e.test(doc));
  doc.type = "1";
  doc.priority = 1;
  EXPECT_FALSE(e.test(doc));
}

TEST(Expression, AndBindsTighterThanOr) {
  EXPECT_TRUE(eval("true or false and false"));
  EXPECT_TRUE(eval("false and false or true"));
  EXPECT_FALSE(eval("(true or false) and false"));
  EXPECT_FALSE(eval("false and (false or true)"));
}

TEST(Expression, NotBindsTighterThanAndButLooserThanComparison) {
  EXPECT_FALSE(eval("not false and false"));  // (not false) and false
  EXPECT_TRUE(eval("not (false and false)"));
  EXPECT_TRUE(eval("not 1 == 2"));  // not (1 == 2)
  EXPECT_TRUE(eval("not not true"));
  EXPECT_FALSE(eval("not true or false"));  // (not true) or false
  FakeContext doc;
  doc.type = "x";
  EXPECT_TRUE(eval("not document.type in ['a'] and document.type == 'x'", doc));
}

TEST(Expression, WhitespaceIsFreeAndKeywordsAreCaseSensitive) {
  FakeContext doc;
  doc.priority = 3;
  EXPECT_TRUE(eval("(document.priority>=2)and(document.type=='1')", doc));
  EXPECT_TRUE(eval("\n\tdocument.priority\t>=\r\n2  ", doc));
  EXPECT_TRUE(eval("document.type in['1','2']", doc));
  EXPECT_COMPILE_ERROR("TRUE", "expression.unknown_field", "column 1: unknown field 'TRUE'");
  EXPECT_COMPILE_ERROR("true AND false", "expression.invalid",
                       "column 6: unexpected 'AND' after a complete expression");
}

TEST(Expression, LongChainsAreFlat) {
  std::string text = "false";
  for (int i = 0; i < 400; ++i) text += " or false";
  text += " or document.priority == 4";
  ASSERT_LE(text.size(), 4096u);
  FakeContext doc;
  EXPECT_FALSE(eval(text, doc));
  doc.priority = 4;
  EXPECT_TRUE(eval(text, doc));
  std::string all = "true";
  for (int i = 0; i < 400; ++i) all += " and true";
  EXPECT_TRUE(eval(all));
  EXPECT_FALSE(eval(all + " and false"));
}

TEST(Expression, ShortCircuits) {
  FakeContext doc;
  auto e = compiled("document.priority == 9 and document.type == 'x' and document.sender == ''");
  EXPECT_FALSE(e.test(doc));
  EXPECT_EQ(doc.reads, 1);
  doc.reads = 0;
  auto o = compiled("document.priority == 0 or document.type == 'x'");
  EXPECT_TRUE(o.test(doc));
  EXPECT_EQ(doc.reads, 1);
}

// ---- each operator on each type ---------------------------------------------------------------

TEST(Expression, IntegerComparisons) {
  FakeContext doc;
  doc.priority = 2;
  EXPECT_TRUE(eval("document.priority == 2", doc));
  EXPECT_FALSE(eval("document.priority == 3", doc));
  EXPECT_TRUE(eval("document.priority != 3", doc));
  EXPECT_FALSE(eval("document.priority != 2", doc));
  EXPECT_TRUE(eval("document.priority < 3", doc));
  EXPECT_FALSE(eval("document.priority < 2", doc));
  EXPECT_TRUE(eval("document.priority <= 2", doc));
  EXPECT_FALSE(eval("document.priority <= 1", doc));
  EXPECT_TRUE(eval("document.priority > 1", doc));
  EXPECT_FALSE(eval("document.priority > 2", doc));
  EXPECT_TRUE(eval("document.priority >= 2", doc));
  EXPECT_FALSE(eval("document.priority >= 3", doc));
  EXPECT_TRUE(eval("2 == document.priority", doc));
  EXPECT_TRUE(eval("document.priority > -1", doc));
  EXPECT_TRUE(eval("document.priority>-1", doc));
  EXPECT_TRUE(eval("-9223372036854775808 < 9223372036854775807"));
  EXPECT_TRUE(eval("-0 == 0"));
  EXPECT_TRUE(eval("007 == 7"));
  doc.attachment_count = 5;
  doc.steering_type = 5;
  EXPECT_TRUE(eval("document.attachment_count == document.steering_type", doc));
  doc.steering_type = 6;
  EXPECT_TRUE(eval("document.attachment_count < document.steering_type", doc));
}

TEST(Expression, StringComparisons) {
  FakeContext doc;
  doc.sender = "000.00.00.G22";
  EXPECT_TRUE(eval("document.sender == '000.00.00.G22'", doc));
  EXPECT_TRUE(eval("document.sender == \"000.00.00.G22\"", doc));
  EXPECT_FALSE(eval("document.sender == '000.00.00.G23'", doc));
  EXPECT_TRUE(eval("document.sender != '000.00.00.G23'", doc));
  EXPECT_FALSE(eval("document.sender != '000.00.00.G22'", doc));
  EXPECT_TRUE(eval("document.sender < '000.00.00.G23'", doc));
  EXPECT_FALSE(eval("document.sender < '000.00.00.G22'", doc));
  EXPECT_TRUE(eval("document.sender <= '000.00.00.G22'", doc));
  EXPECT_TRUE(eval("document.sender > '000.00.00.G21'", doc));
  EXPECT_FALSE(eval("document.sender > '000.00.00.G22'", doc));
  EXPECT_TRUE(eval("document.sender >= '000.00.00.G22'", doc));
  EXPECT_FALSE(eval("document.sender >= '000.00.00.H'", doc));
  EXPECT_TRUE(eval("'' < 'a'"));
  EXPECT_TRUE(eval("'a' < 'b' and 'B' < 'a'"));  // byte order
  EXPECT_TRUE(eval("document.type == document.type", doc));
}

TEST(Expression, StringEscapesAndVietnamese) {
  FakeContext doc;
  doc.meta["trich_yeu"] = "Văn bản đến: \"khẩn\" it's \\ ok";
  EXPECT_TRUE(eval("document.meta.trich_yeu == 'Văn bản đến: \"khẩn\" it\\'s \\\\ ok'", doc));
  EXPECT_TRUE(eval("document.meta.trich_yeu == \"Văn bản đến: \\\"khẩn\\\" it's \\\\ ok\"", doc));
  doc.meta["don_vi"] = "Ủy ban nhân dân tỉnh Đồng Nai";
  EXPECT_TRUE(eval("document.meta.don_vi in ['Ủy ban nhân dân tỉnh Đồng Nai', 'Sở Nội vụ']", doc));
  EXPECT_FALSE(eval("document.meta.don_vi == 'Uy ban nhan dan tinh Dong Nai'", doc));
  auto e = compiled("'Tiếng Việt có dấu'");
  EXPECT_EQ(std::get<std::string>(e.evaluate(doc)), "Tiếng Việt có dấu");
}

TEST(Expression, DateComparisons) {
  FakeContext doc;
  doc.due_date = {2026, 12, 31};
  EXPECT_TRUE(eval("document.due_date == date('2026-12-31')", doc));
  EXPECT_FALSE(eval("document.due_date == date('2026-12-30')", doc));
  EXPECT_TRUE(eval("document.due_date != date('2026-12-30')", doc));
  EXPECT_TRUE(eval("document.due_date < date('2027-01-01')", doc));
  EXPECT_FALSE(eval("document.due_date < date('2026-12-31')", doc));
  EXPECT_TRUE(eval("document.due_date <= date('2026-12-31')", doc));
  EXPECT_TRUE(eval("document.due_date > date('2026-02-28')", doc));
  EXPECT_FALSE(eval("document.due_date > date('2026-12-31')", doc));
  EXPECT_TRUE(eval("document.due_date >= date(\"2026-12-31\")", doc));
  EXPECT_TRUE(eval("date('2024-02-29') < date('2024-03-01')"));
  EXPECT_TRUE(eval("date('2000-02-29') == date( '2000-02-29' )"));
  EXPECT_TRUE(eval("document.has_due_date", doc));
  auto e = compiled("document.due_date");
  EXPECT_EQ(e.type(), ValueType::date);
  EXPECT_EQ(std::get<ExprDate>(e.evaluate(doc)), (ExprDate{2026, 12, 31}));
}

TEST(Expression, MissingDueDateIsUnordered) {
  FakeContext doc;  // no due date
  EXPECT_FALSE(eval("document.has_due_date", doc));
  EXPECT_TRUE(eval("not document.has_due_date", doc));
  EXPECT_FALSE(eval("document.due_date < date('9999-12-31')", doc));
  EXPECT_FALSE(eval("document.due_date <= date('9999-12-31')", doc));
  EXPECT_FALSE(eval("document.due_date > date('0001-01-01')", doc));
  EXPECT_FALSE(eval("document.due_date >= date('0001-01-01')", doc));
  EXPECT_FALSE(eval("document.due_date == date('2026-01-01')", doc));
  EXPECT_FALSE(eval("document.due_date == document.due_date", doc));
  EXPECT_TRUE(eval("document.due_date != date('2026-01-01')", doc));
  EXPECT_TRUE(eval("document.has_due_date or document.priority == 0", doc));
  EXPECT_EQ(std::get<ExprDate>(compiled("document.due_date").evaluate(doc)), kNoDueDate);
}

TEST(Expression, InAndNotIn) {
  FakeContext doc;
  doc.recipients = {"000.00.01.H01", "000.00.00.G22"};
  doc.sender = "000.00.00.G22";
  EXPECT_TRUE(eval("'000.00.00.G22' in document.recipients", doc));
  EXPECT_FALSE(eval("'000.00.00.G23' in document.recipients", doc));
  EXPECT_TRUE(eval("'000.00.00.G23' not in document.recipients", doc));
  EXPECT_FALSE(eval("'000.00.00.G22' not in document.recipients", doc));
  EXPECT_TRUE(eval("document.sender in document.recipients", doc));
  doc.recipients.clear();
  EXPECT_FALSE(eval("document.sender in document.recipients", doc));
  EXPECT_TRUE(eval("document.sender not in document.recipients", doc));
  doc.type = "c";
  EXPECT_TRUE(eval("document.type in ['z', 'c', 'a', 'c']", doc));  // unsorted, duplicate
  EXPECT_FALSE(eval("document.type in ['z', 'a']", doc));
  EXPECT_TRUE(eval("document.type not in ['z', 'a']", doc));
  EXPECT_FALSE(eval("document.type in []", doc));
  EXPECT_TRUE(eval("document.type not in []", doc));
  EXPECT_TRUE(eval("'b' in ['a', \"b\"]"));
  EXPECT_TRUE(eval("not 'b' not in ['b']"));  // not ('b' not in ['b'])
  auto list = compiled("['b', 'a']");
  EXPECT_EQ(list.type(), ValueType::string_list);
  EXPECT_EQ(std::get<std::vector<std::string>>(list.evaluate(doc)),
            (std::vector<std::string>{"b", "a"}));  // as written
}

TEST(Expression, LiteralsAndTheirTypes) {
  FakeContext doc;
  EXPECT_EQ(compiled("42").type(), ValueType::integer);
  EXPECT_EQ(std::get<std::int64_t>(compiled("-42").evaluate(doc)), -42);
  EXPECT_EQ(std::get<std::int64_t>(compiled("9223372036854775807").evaluate(doc)), INT64_MAX);
  EXPECT_EQ(std::get<std::int64_t>(compiled("-9223372036854775808").evaluate(doc)), INT64_MIN);
  EXPECT_EQ(compiled("'x'").type(), ValueType::string);
  EXPECT_EQ(compiled("true").type(), ValueType::boolean);
  EXPECT_TRUE(compiled("true").test(doc));
  EXPECT_FALSE(compiled("false").test(doc));
  EXPECT_EQ(compiled("date('2026-01-02')").type(), ValueType::date);
  EXPECT_EQ(compiled("(((document.recipients)))").type(), ValueType::string_list);
  EXPECT_EQ(std::get<std::int64_t>(compiled("(document.priority)").evaluate(doc)), 0);
}

// ---- fields -------------------------------------------------------------------------------------

TEST(Expression, EveryDocumentFieldHasItsType) {
  struct Case {
    const char* text;
    ValueType type;
    FieldRef::Kind kind;
  };
  const Case cases[] = {
      {"document.type", ValueType::string, FieldRef::Kind::document_type},
      {"document.priority", ValueType::integer, FieldRef::Kind::document_priority},
      {"document.sender", ValueType::string, FieldRef::Kind::document_sender},
      {"document.recipients", ValueType::string_list, FieldRef::Kind::document_recipients},
      {"document.due_date", ValueType::date, FieldRef::Kind::document_due_date},
      {"document.has_due_date", ValueType::boolean, FieldRef::Kind::document_due_date},
      {"document.attachment_count", ValueType::integer, FieldRef::Kind::document_attachment_count},
      {"document.steering_type", ValueType::integer, FieldRef::Kind::document_steering_type},
  };
  for (const auto& c : cases) {
    auto e = compiled(c.text);
    EXPECT_EQ(e.type(), c.type) << c.text;
    ASSERT_EQ(e.fields().size(), 1u) << c.text;
    EXPECT_EQ(e.fields()[0], (FieldRef{c.kind, ""})) << c.text;
    if (c.type != ValueType::boolean) {
      EXPECT_EQ(field_type(c.kind), c.type);
      EXPECT_EQ(to_string(e.fields()[0]), c.text);
    }
  }
}

TEST(Expression, FieldValuesPassThrough) {
  FakeContext doc;
  doc.type = "12";
  doc.priority = 3;
  doc.attachment_count = 7;
  doc.steering_type = 1;
  doc.meta["so_ky_hieu"] = "123/UBND-VP";
  EXPECT_EQ(std::get<std::string>(compiled("document.type").evaluate(doc)), "12");
  EXPECT_EQ(std::get<std::int64_t>(compiled("document.priority").evaluate(doc)), 3);
  EXPECT_EQ(std::get<std::int64_t>(compiled("document.attachment_count").evaluate(doc)), 7);
  EXPECT_EQ(std::get<std::int64_t>(compiled("document.steering_type").evaluate(doc)), 1);
  EXPECT_EQ(std::get<std::vector<std::string>>(compiled("document.recipients").evaluate(doc)),
            doc.recipients);
  EXPECT_EQ(std::get<std::string>(compiled("document.meta.so_ky_hieu").evaluate(doc)),
            "123/UBND-VP");
  EXPECT_EQ(std::get<std::string>(compiled("document.meta.missing").evaluate(doc)), "");
  EXPECT_FALSE(compiled("document.type").test(doc));  // not boolean
}

TEST(Expression, MetadataNames) {
  FakeContext doc;
  doc.meta["loai-van-ban"] = "QĐ";
  doc.meta["_x9"] = "y";
  EXPECT_TRUE(eval("document.meta.loai-van-ban == 'QĐ'", doc));
  EXPECT_TRUE(eval("document.meta['loai-van-ban']=='QĐ'", doc));
  EXPECT_TRUE(eval("document.meta._x9 == 'y'", doc));
  EXPECT_TRUE(eval("document.meta.unset == ''", doc));
  auto e = compiled("document.meta.loai-van-ban == 'a' or document.meta['loai-van-ban'] == 'b'");
  ASSERT_EQ(e.fields().size(), 1u);
  EXPECT_EQ(e.fields()[0], (FieldRef{FieldRef::Kind::document_meta, "loai-van-ban"}));
  EXPECT_EQ(to_string(e.fields()[0]), "document.meta.loai-van-ban");
}

TEST(Expression, OutcomesOfStepIdsWithDashDotAndQuestionMark) {
  FakeContext doc;
  doc.outcomes["check-docs"] = "ok";
  doc.outcomes["urgent?"] = "yes";
  doc.outcomes["v1.2"] = "done";
  EXPECT_TRUE(eval("outcome.check-docs == 'ok'", doc));
  EXPECT_TRUE(eval("outcome.check-docs=='ok'", doc));
  EXPECT_TRUE(eval("outcome.urgent? == 'yes'", doc));
  EXPECT_TRUE(eval("outcome.urgent?=='yes'", doc));
  EXPECT_TRUE(eval("(outcome.urgent?)=='yes'", doc));
  EXPECT_TRUE(eval("outcome.v1.2 == 'done'", doc));
  EXPECT_TRUE(eval("outcome['urgent?'] == 'yes'", doc));
  EXPECT_TRUE(eval("outcome[\"check-docs\"] in ['ok', 'fine']", doc));
  EXPECT_TRUE(eval("outcome.register == ''", doc));  // not chosen yet
  EXPECT_TRUE(eval("outcome.a_b != 'x' and outcome.x not in ['y']", doc));
  auto e = compiled(
      "outcome.check-docs == 'ok' and outcome['check-docs'] != 'no' and "
      "outcome.urgent? == 'yes'");
  EXPECT_EQ(e.fields(), (std::vector<FieldRef>{{FieldRef::Kind::outcome, "check-docs"},
                                               {FieldRef::Kind::outcome, "urgent?"}}));
  EXPECT_EQ(to_string(e.fields()[1]), "outcome.urgent?");
}

TEST(Expression, FieldsListsEveryReadOnceInOrder) {
  auto e = compiled(
      "outcome.register == 'accept' and (document.priority >= 2 or document.type == '1') and "
      "document.priority < 4 and document.sender in document.recipients and "
      "document.has_due_date and document.due_date < date('2027-01-01') and "
      "document.meta.linh_vuc != '' and document.attachment_count > 0 and "
      "document.steering_type == 1");
  const std::vector<FieldRef> expected = {
      {FieldRef::Kind::outcome, "register"},        {FieldRef::Kind::document_priority, ""},
      {FieldRef::Kind::document_type, ""},          {FieldRef::Kind::document_sender, ""},
      {FieldRef::Kind::document_recipients, ""},    {FieldRef::Kind::document_due_date, ""},
      {FieldRef::Kind::document_meta, "linh_vuc"},  {FieldRef::Kind::document_attachment_count, ""},
      {FieldRef::Kind::document_steering_type, ""},
  };
  EXPECT_EQ(e.fields(), expected);
  EXPECT_TRUE(compiled("true and 1 < 2").fields().empty());
}

// ---- contexts that break the contract -----------------------------------------------------------

TEST(Expression, WrongTypesOrExceptionsFromTheContextGiveDefaults) {
  BadContext bad;  // returns a bool for every field
  EXPECT_TRUE(compiled("document.priority == 0").test(bad));
  EXPECT_TRUE(compiled("document.type == ''").test(bad));
  EXPECT_TRUE(compiled("document.sender not in document.recipients").test(bad));
  EXPECT_FALSE(compiled("document.has_due_date").test(bad));
  EXPECT_EQ(std::get<std::string>(compiled("document.type").evaluate(bad)), "");
  EXPECT_EQ(std::get<std::vector<std::string>>(compiled("document.recipients").evaluate(bad)),
            std::vector<std::string>{});
  bad.throws = true;
  EXPECT_TRUE(compiled("document.priority == 0 and outcome.x == ''").test(bad));
  EXPECT_EQ(std::get<ExprDate>(compiled("document.due_date").evaluate(bad)), kNoDueDate);
}

// ---- compile_condition --------------------------------------------------------------------------

TEST(Expression, ConditionMustBeBoolean) {
  auto ok = Expression::compile_condition("document.priority >= 2", schema());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->type(), ValueType::boolean);
  auto bad = Expression::compile_condition("document.priority", schema());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "expression.type_error");
  EXPECT_EQ(bad.error().message, "column 1: a condition must be boolean, got integer");
  auto also_bad = compile_condition("document.recipients", schema());
  ASSERT_FALSE(also_bad);
  EXPECT_EQ(also_bad.error().message, "column 1: a condition must be boolean, got string list");
  auto syntax = compile_condition("document.priority >=", schema());
  ASSERT_FALSE(syntax);
  EXPECT_EQ(syntax.error().code, "expression.invalid");
}

// ---- errors ------------------------------------------------------------------------------------

TEST(ExpressionErrors, UnknownFields) {
  EXPECT_COMPILE_ERROR("document.priority >= 2 and document.prority > 1",
                       "expression.unknown_field", "column 28: unknown field 'document.prority'");
  EXPECT_COMPILE_ERROR("document", "expression.unknown_field",
                       "column 1: unknown field 'document'");
  EXPECT_COMPILE_ERROR("foo == 1", "expression.unknown_field", "column 1: unknown field 'foo'");
  EXPECT_COMPILE_ERROR("doc.type == '1'", "expression.unknown_field",
                       "column 1: unknown field 'doc.type'");
  EXPECT_COMPILE_ERROR("document.Type == '1'", "expression.unknown_field",
                       "column 1: unknown field 'document.Type'");
  EXPECT_COMPILE_ERROR("document.meta == ''", "expression.unknown_field",
                       "column 1: 'document.meta' needs a name, as in document.meta.so_ky_hieu");
  EXPECT_COMPILE_ERROR("outcome == ''", "expression.unknown_field",
                       "column 1: unknown field 'outcome'");
}

TEST(ExpressionErrors, BadMetadataNames) {
  EXPECT_COMPILE_ERROR("document.meta.1abc == ''", "expression.unknown_field",
                       "column 1: invalid metadata name '1abc' in 'document.meta.1abc'; a name is "
                       "letters, digits, '_' and '-', starting with a letter or '_'");
  EXPECT_COMPILE_ERROR("true and document.meta.a.b == ''", "expression.unknown_field",
                       "column 10: invalid metadata name 'a.b' in 'document.meta.a.b'; a name is "
                       "letters, digits, '_' and '-', starting with a letter or '_'");
  EXPECT_COMPILE_ERROR("document.meta.x? == ''", "expression.unknown_field",
                       "column 1: invalid metadata name 'x?' in 'document.meta.x?'; a name is "
                       "letters, digits, '_' and '-', starting with a letter or '_'");
  EXPECT_COMPILE_ERROR("document.meta['có dấu'] == ''", "expression.unknown_field",
                       "column 1: invalid metadata name 'có dấu' in 'document.meta['có dấu']'; a "
                       "name is letters, digits, '_' and '-', starting with a letter or '_'");
  EXPECT_COMPILE_ERROR("document.meta. == ''", "expression.unknown_field",
                       "column 1: invalid metadata name '' in 'document.meta.'; a name is "
                       "letters, digits, '_' and '-', starting with a letter or '_'");
}

TEST(ExpressionErrors, UnknownOrBadSteps) {
  EXPECT_COMPILE_ERROR("outcome.nope == 'x'", "expression.unknown_field",
                       "column 1: unknown step 'nope' in 'outcome.nope'");
  EXPECT_COMPILE_ERROR("outcome.urgent == 'x'", "expression.unknown_field",
                       "column 1: unknown step 'urgent' in 'outcome.urgent'");
  EXPECT_COMPILE_ERROR("outcome. == 'x'", "expression.unknown_field",
                       "column 1: 'outcome.' needs a step id, as in outcome.review or "
                       "outcome['review']");
  EXPECT_COMPILE_ERROR("outcome['a b'] == 'x'", "expression.unknown_field",
                       "column 1: invalid step id 'a b' in 'outcome['a b']'; a step id is "
                       "letters, digits, '_', '.', '?' and '-'");
  // No schema: no step is known.
  auto e = Expression::compile("outcome.register == 'x'", ExpressionSchema{});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "column 1: unknown step 'register' in 'outcome.register'");
}

TEST(ExpressionErrors, TypeMismatches) {
  EXPECT_COMPILE_ERROR("document.priority == '2'", "expression.type_error",
                       "column 1: cannot compare integer with string");
  EXPECT_COMPILE_ERROR("true and '2' < document.priority", "expression.type_error",
                       "column 10: cannot compare string with integer");
  EXPECT_COMPILE_ERROR("document.due_date < '2026-01-01'", "expression.type_error",
                       "column 1: cannot compare date with string");
  EXPECT_COMPILE_ERROR("document.type == ['1']", "expression.type_error",
                       "column 1: cannot compare string with string list");
  EXPECT_COMPILE_ERROR(
      "true == false", "expression.type_error",
      "column 1: cannot compare booleans; combine them with 'and', 'or' and 'not'");
  EXPECT_COMPILE_ERROR(
      "(1 < 2) != true", "expression.type_error",
      "column 1: cannot compare booleans; combine them with 'and', 'or' and 'not'");
  EXPECT_COMPILE_ERROR("document.recipients == ['a']", "expression.type_error",
                       "column 1: cannot compare string lists; test membership with 'in'");
  EXPECT_COMPILE_ERROR("document.recipients < document.recipients", "expression.type_error",
                       "column 1: cannot compare string lists; test membership with 'in'");
  EXPECT_COMPILE_ERROR("document.priority in ['1']", "expression.type_error",
                       "column 1: 'in' needs a string on the left and a string list on the right, "
                       "got integer in string list");
  EXPECT_COMPILE_ERROR("document.type not in 'abc'", "expression.type_error",
                       "column 1: 'not in' needs a string on the left and a string list on the "
                       "right, got string not in string");
  EXPECT_COMPILE_ERROR("document.recipients in document.recipients", "expression.type_error",
                       "column 1: 'in' needs a string on the left and a string list on the right, "
                       "got string list in string list");
  EXPECT_COMPILE_ERROR("document.priority and true", "expression.type_error",
                       "column 1: 'and' needs boolean operands, got integer");
  EXPECT_COMPILE_ERROR("true or document.type", "expression.type_error",
                       "column 9: 'or' needs boolean operands, got string");
  EXPECT_COMPILE_ERROR("true and (document.type)", "expression.type_error",
                       "column 10: 'and' needs boolean operands, got string");
  EXPECT_COMPILE_ERROR("not document.type", "expression.type_error",
                       "column 5: 'not' needs a boolean operand, got string");
  EXPECT_COMPILE_ERROR("not 'x' in ['x'] and not 3", "expression.type_error",
                       "column 26: 'not' needs a boolean operand, got integer");
}

TEST(ExpressionErrors, Syntax) {
  EXPECT_COMPILE_ERROR("", "expression.invalid", "column 1: empty expression");
  EXPECT_COMPILE_ERROR("  \t\n ", "expression.invalid", "column 1: empty expression");
  EXPECT_COMPILE_ERROR("document.type == 'abc", "expression.invalid",
                       "column 18: unterminated string");
  EXPECT_COMPILE_ERROR("document.type == \"abc'", "expression.invalid",
                       "column 18: unterminated string");
  EXPECT_COMPILE_ERROR("'abc\\'", "expression.invalid", "column 1: unterminated string");
  EXPECT_COMPILE_ERROR("'a\\nb' == ''", "expression.invalid",
                       "column 3: unknown escape \\n in string; only \\\\, \\' and \\\" are "
                       "allowed");
  EXPECT_COMPILE_ERROR("document.priority >= 2 document.type", "expression.invalid",
                       "column 24: unexpected 'document.type' after a complete expression");
  EXPECT_COMPILE_ERROR("true)", "expression.invalid",
                       "column 5: unexpected ')' after a complete expression");
  EXPECT_COMPILE_ERROR("document.priority >=", "expression.invalid",
                       "column 21: expected a value but the expression ends");
  EXPECT_COMPILE_ERROR("(true", "expression.invalid",
                       "column 6: expected ')' to close the '(' at column 1 but the expression "
                       "ends");
  EXPECT_COMPILE_ERROR("(true 'x'", "expression.invalid",
                       "column 7: expected ')' to close the '(' at column 1 but found ''x''");
  EXPECT_COMPILE_ERROR("true and or false", "expression.invalid",
                       "column 10: expected a value but found 'or'");
  EXPECT_COMPILE_ERROR("not in ['a']", "expression.invalid",
                       "column 5: expected a value but found 'in'");
  EXPECT_COMPILE_ERROR(", true", "expression.invalid", "column 1: expected a value but found ','");
  EXPECT_COMPILE_ERROR("1 < 2 < 3", "expression.invalid",
                       "column 7: comparisons cannot be chained ('<' after '<'); combine them "
                       "with 'and'");
  EXPECT_COMPILE_ERROR("'a' in ['a'] not in ['b']", "expression.invalid",
                       "column 14: comparisons cannot be chained ('not' after 'in'); combine "
                       "them with 'and'");
  EXPECT_COMPILE_ERROR("document.priority = 2", "expression.invalid",
                       "column 19: unexpected '='; compare with '=='");
  EXPECT_COMPILE_ERROR("true && false", "expression.invalid",
                       "column 6: unexpected '&'; use 'and'");
  EXPECT_COMPILE_ERROR("true || false", "expression.invalid", "column 6: unexpected '|'; use 'or'");
  EXPECT_COMPILE_ERROR("!true", "expression.invalid",
                       "column 1: unexpected '!'; negate with 'not'");
  EXPECT_COMPILE_ERROR("document.priority + 1 > 2", "expression.invalid",
                       "column 19: unexpected character '+'");
  EXPECT_COMPILE_ERROR("'đ' == 'đ' @", "expression.invalid", "column 12: unexpected character '@'");
  EXPECT_COMPILE_ERROR("true\x01", "expression.invalid", "column 5: unexpected character 'U+0001'");
  EXPECT_COMPILE_ERROR("document.priority > 2x", "expression.invalid",
                       "column 21: invalid number '2x'");
  EXPECT_COMPILE_ERROR("- 1 == -1", "expression.invalid", "column 1: unexpected character '-'");
  // The leftmost error wins even when the lexer fails further on.
  EXPECT_COMPILE_ERROR("document.prority == 'abc", "expression.unknown_field",
                       "column 1: unknown field 'document.prority'");
  EXPECT_COMPILE_ERROR("true 'abc", "expression.invalid", "column 6: unterminated string");
}

TEST(ExpressionErrors, Lists) {
  EXPECT_COMPILE_ERROR("document.type in ['a', 1]", "expression.invalid",
                       "column 24: expected a quoted string in the list but found '1'");
  EXPECT_COMPILE_ERROR("document.type in ['a' 'b']", "expression.invalid",
                       "column 23: expected ',' or ']' in the list but found ''b''");
  EXPECT_COMPILE_ERROR("document.type in ['a',]", "expression.invalid",
                       "column 23: expected a quoted string in the list but found ']'");
  EXPECT_COMPILE_ERROR("document.type in ['a'", "expression.invalid",
                       "column 22: expected ',' or ']' in the list but the expression ends");
  std::string ok = "'x' in [";
  for (int i = 0; i < 1000; ++i) ok += std::string(i ? "," : "") + "''";
  ok += "]";
  ASSERT_LE(ok.size(), 4096u);
  EXPECT_TRUE(Expression::compile(ok, schema()));
  std::string too_many = "'x' in [";
  for (int i = 0; i < 1001; ++i) too_many += std::string(i ? "," : "") + "''";
  too_many += "]";
  EXPECT_COMPILE_ERROR(too_many, "expression.invalid",
                       "column 3009: a list holds at most 1000 items");
}

TEST(ExpressionErrors, BadDates) {
  EXPECT_COMPILE_ERROR("document.due_date < date('2026-02-30')", "expression.invalid",
                       "column 26: invalid date '2026-02-30'; expected a calendar date YYYY-MM-DD");
  EXPECT_COMPILE_ERROR("date('2025-02-29') == document.due_date", "expression.invalid",
                       "column 6: invalid date '2025-02-29'; expected a calendar date YYYY-MM-DD");
  EXPECT_COMPILE_ERROR("date('1900-02-29') == document.due_date", "expression.invalid",
                       "column 6: invalid date '1900-02-29'; expected a calendar date YYYY-MM-DD");
  for (const char* bad : {"2026-13-01", "2026-00-10", "2026-04-31", "2026-1-1", "0000-01-01",
                          "2026/01/01", "2026-01-01T00:00", "", "２０２６-01-01"}) {
    Error err = error_of(std::string("date('") + bad + "') == document.due_date");
    EXPECT_EQ(err.code, "expression.invalid") << bad;
    EXPECT_EQ(err.message, std::string("column 6: invalid date '") + bad +
                               "'; expected a calendar date YYYY-MM-DD")
        << bad;
  }
  EXPECT_COMPILE_ERROR("date(20260101) == document.due_date", "expression.invalid",
                       "column 6: expected a quoted date such as date('2026-12-31') but found "
                       "'20260101'");
  EXPECT_COMPILE_ERROR("date == document.due_date", "expression.invalid",
                       "column 6: expected '(' after 'date' but found '=='");
  EXPECT_COMPILE_ERROR("date('2026-01-01' == document.due_date", "expression.invalid",
                       "column 19: expected ')' after the date but found '=='");
}

TEST(ExpressionErrors, IntegerOverflow) {
  EXPECT_COMPILE_ERROR("document.priority < 9223372036854775808", "expression.invalid",
                       "column 21: integer 9223372036854775808 is out of range "
                       "(-9223372036854775808 to 9223372036854775807)");
  EXPECT_COMPILE_ERROR("document.priority > -9223372036854775809", "expression.invalid",
                       "column 21: integer -9223372036854775809 is out of range "
                       "(-9223372036854775808 to 9223372036854775807)");
  EXPECT_COMPILE_ERROR("99999999999999999999999999 == 1", "expression.invalid",
                       "column 1: integer 99999999999999999999999999 is out of range "
                       "(-9223372036854775808 to 9223372036854775807)");
}

TEST(ExpressionErrors, NestingDepth) {
  auto nested = [](int n) {
    return std::string(n, '(') + "document.priority == 1" + std::string(n, ')');
  };
  EXPECT_TRUE(Expression::compile(nested(64), schema()));
  EXPECT_COMPILE_ERROR(nested(65), "expression.invalid",
                       "column 65: expression nests deeper than 64 levels");
  std::string nots;
  for (int i = 0; i < 64; ++i) nots += "not ";
  EXPECT_TRUE(eval(nots + "true"));  // an even number of nots
  EXPECT_COMPILE_ERROR(nots + "not true", "expression.invalid",
                       "column 257: expression nests deeper than 64 levels");
  // Far deeper than the limit: refused, not a stack overflow.
  EXPECT_COMPILE_ERROR(std::string(4000, '('), "expression.invalid",
                       "column 65: expression nests deeper than 64 levels");
  // Mixed: parentheses and nots count together.
  std::string mixed;
  for (int i = 0; i < 40; ++i) mixed += "not (";
  EXPECT_EQ(error_of(mixed + "true" + std::string(40, ')')).message,
            "column 161: expression nests deeper than 64 levels");
}

TEST(ExpressionErrors, SizeAndEncoding) {
  std::string text = "document.type == '" + std::string(4096 - 19, 'a') + "'";
  ASSERT_EQ(text.size(), 4096u);
  EXPECT_TRUE(Expression::compile(text, schema()));
  text.insert(18, "a");
  EXPECT_COMPILE_ERROR(text, "expression.invalid",
                       "column 1: expression is 4097 bytes long; at most 4096 are allowed");
  EXPECT_COMPILE_ERROR("'Vi\xe1\xbb' == ''", "expression.invalid", "column 4: invalid UTF-8");
  EXPECT_COMPILE_ERROR("'\xc0\xaf' == ''", "expression.invalid", "column 2: invalid UTF-8");
  EXPECT_COMPILE_ERROR("'\xed\xa0\x80' == ''", "expression.invalid", "column 2: invalid UTF-8");
}

TEST(ExpressionErrors, ColumnsCountCharactersNotBytes) {
  EXPECT_COMPILE_ERROR("'Văn bản đến' == document.priority", "expression.type_error",
                       "column 1: cannot compare string with integer");
  EXPECT_COMPILE_ERROR("'Văn bản đến' == 'x' and document.prority", "expression.unknown_field",
                       "column 26: unknown field 'document.prority'");
}

TEST(Expression, CopiesAndMovesKeepWorking) {
  auto e = compiled("document.type in ['a', 'b'] and outcome.x == ''");
  Expression copy = e;
  Expression moved = std::move(e);
  FakeContext doc;
  doc.type = "b";
  EXPECT_TRUE(copy.test(doc));
  EXPECT_TRUE(moved.test(doc));
  EXPECT_EQ(copy.text(), moved.text());
  EXPECT_EQ(copy.fields(), moved.fields());
}

TEST(Expression, ToStringOfTypes) {
  EXPECT_STREQ(to_string(ValueType::boolean), "boolean");
  EXPECT_STREQ(to_string(ValueType::integer), "integer");
  EXPECT_STREQ(to_string(ValueType::string), "string");
  EXPECT_STREQ(to_string(ValueType::string_list), "string list");
  EXPECT_STREQ(to_string(ValueType::date), "date");
  EXPECT_EQ(type_of(Value{std::int64_t{1}}), ValueType::integer);
  EXPECT_EQ(type_of(Value{ExprDate{2026, 1, 1}}), ValueType::date);
}

}  // namespace
}  // namespace lienthong

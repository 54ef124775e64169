#include "adapters/edxml/codec.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libxml/parser.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/encoding.hpp"
#include "base/xml.hpp"

namespace lienthong {
namespace {

using ::testing::HasSubstr;

const std::string kNs(kEdxmlNamespace);

std::string read_file(const std::string& name) {
  std::ifstream in(std::string(LIENTHONG_TEST_DATA) + "/edxml/" + name, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << name;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// 1-based line of the first occurrence of needle.
int line_of(std::string_view text, std::string_view needle) {
  const auto pos = text.find(needle);
  EXPECT_NE(pos, std::string_view::npos) << needle;
  int line = 1;
  for (std::size_t i = 0; i < pos && i < text.size(); ++i) line += text[i] == '\n';
  return line;
}

std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

std::string replaced_all(std::string text, std::string_view from, std::string_view to) {
  for (auto pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

// Asserts that decoding fails with `code` and a message of the form `line N: <element> ...`
// where N is the line of `anchor` in xml, and that the message contains `detail`.
void expect_error(const std::string& xml, std::string_view code, std::string_view element,
                  std::string_view anchor, std::string_view detail = {}) {
  auto r = decode_edxml(xml);
  ASSERT_FALSE(r) << "decoded although " << code << " was expected";
  EXPECT_EQ(r.error().code, code) << r.error().message;
  const std::string where =
      "line " + std::to_string(line_of(xml, anchor)) + ": <" + std::string(element) + ">";
  EXPECT_THAT(r.error().message, HasSubstr(where));
  EXPECT_THAT(r.error().message, HasSubstr(std::string(detail)));
}

ExtraElement el(std::string name, std::string ns, std::string text = {},
                std::vector<std::pair<std::string, std::string>> attributes = {},
                std::vector<ExtraElement> children = {}) {
  return ExtraElement{std::move(name), std::move(ns), std::move(attributes), std::move(text),
                      std::move(children)};
}

// ------------------------------------------------------------------------------------------------
// The real samples

TEST(EdxmlSample, DocumentDecodesEveryField) {
  auto r = decode_edxml(read_file("edoc_new.edxml"));
  ASSERT_TRUE(r) << r.error().code << ": " << r.error().message;
  const Package& p = *r;
  EXPECT_EQ(p.kind, PackageKind::document);
  EXPECT_EQ(p.status, StatusHeader{});
  const DocumentHeader& h = p.document;

  const Organization from{
      "000.00.11.H53", "Tỉnh Tây Ninh", "Sở Tính", "", "stc@tayninh.gov.vn", "", "", "", {}};
  EXPECT_EQ(h.from, from);
  ASSERT_EQ(h.to.size(), 1u);
  const Organization to{"000.00.01.A53",
                        "Tỉnh Tây Ninh",
                        "Văn phòng tỉnh ủy",
                        "Tỉnh Tây Ninh",
                        "vptu@tayninh.gov.vn",
                        "",
                        "",
                        "",
                        {}};
  EXPECT_EQ(h.to[0], to);
  EXPECT_EQ(h.document_id, "000.00.11.H53,2020/10/30,2491/STC-BCTC");
  EXPECT_EQ(h.code_number, "2491");
  EXPECT_EQ(h.code_notation, "STC-BCTC");
  EXPECT_EQ(h.promulgation_place, "Tây Ninh");
  EXPECT_EQ(h.promulgation_date, (Date{2020, 10, 30}));  // written 30/10/2020
  EXPECT_EQ(h.type, "1");
  EXPECT_EQ(h.type_detail, "0");
  EXPECT_EQ(h.type_name, "Công văn");
  EXPECT_EQ(h.subject, "Báo cáo tài chính tỉnh");
  EXPECT_EQ(h.content, "Báo cáo tài chính tỉnh");
  EXPECT_EQ(h.signer_competence, "");
  EXPECT_EQ(h.signer_position, "");
  EXPECT_EQ(h.signer_full_name, "");
  EXPECT_EQ(h.due_date, std::nullopt);
  EXPECT_EQ(h.to_places, (std::vector<std::string>{"Cac bo va co quan ngang bo",
                                                   "Uy ban nhan dan cac tinh, TP"}));
  EXPECT_EQ(h.other_info.priority, 0);
  EXPECT_EQ(h.other_info.sphere_of_promulgation, "Liên thông văn bản");
  EXPECT_EQ(h.other_info.typer_notation, "");
  EXPECT_EQ(h.other_info.promulgation_amount, 2);
  EXPECT_EQ(h.other_info.page_amount, 22);
  EXPECT_EQ(h.other_info.direction, "false");
  EXPECT_EQ(h.other_info.appendixes, std::vector<std::string>{""});  // one empty <Appendix/>
  EXPECT_TRUE(h.other_info.extra.empty());
  EXPECT_EQ(h.steering_type, 1);
  EXPECT_TRUE(h.response_for.empty());
  EXPECT_TRUE(h.extra.empty());

  ASSERT_TRUE(p.trace_header_list);
  const TraceHeaderList& l = *p.trace_header_list;
  ASSERT_EQ(l.trace_headers.size(), 1u);
  EXPECT_EQ(l.trace_headers[0].organ_id, "000.00.00.G22");
  EXPECT_EQ(l.trace_headers[0].timestamp, (DateTime{{2018, 9, 28}, 0, 0, 0}));
  EXPECT_TRUE(l.trace_headers[0].extra.empty());
  ASSERT_TRUE(l.business);
  const Business& b = *l.business;
  EXPECT_EQ(b.document_id, "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT");  // impossible date, kept
  EXPECT_EQ(b.doc_type, 0);
  EXPECT_EQ(b.doc_reason, "Văn bản điện tử mới");
  EXPECT_EQ(b.paper, 0);
  const StaffInfo staff{
      "Văn thư văn phòng", "Nguyễn Thị Ngọc Trâm", "vanthuvanphong@gov.vn", "84912000001", {}};
  EXPECT_EQ(b.staff_info, staff);
  EXPECT_TRUE(b.replacement_info_list.empty());
  EXPECT_TRUE(b.extra.empty());
  EXPECT_TRUE(l.extra.empty());

  EXPECT_TRUE(p.has_body);
  EXPECT_EQ(p.manifest_version, "1.0");
  ASSERT_EQ(p.manifest.size(), 1u);
  const ManifestReference ref{
      "cid:209", "application/zip", "1896_QD-TTg_m_294779.doc", "1896_QD-TTg_m_294779.doc", {}};
  EXPECT_EQ(p.manifest[0], ref);

  ASSERT_EQ(p.attachments.size(), 1u);
  const Attachment& a = p.attachments[0];
  EXPECT_EQ(a.content_id, "cid:209");
  EXPECT_EQ(a.attachment_name, "1896_QD-TTg_m_294779.doc");
  EXPECT_EQ(a.description, "1896_QD-TTg_m_294779.doc");
  EXPECT_EQ(a.content_type, "application/zip");
  // Computed once with: sed -n 122p | strip the tags | base64 -d | sha256sum / wc -c
  EXPECT_EQ(a.data.size(), 270823u);
  EXPECT_EQ(a.data.substr(0, 4), std::string("PK\x03\x04", 4));
  EXPECT_EQ(a.sha256_hex, "7ab7c43a02a3cf2cedd14ebf2545a37e7a1307e0091b4ba94c2ef1e842a763aa");
  EXPECT_EQ(sha256_hex(a.data), a.sha256_hex);
  EXPECT_TRUE(a.extra.empty());

  // The unprefixed <Signature> is in the QCVN default namespace: it is not XML-DSig, so it is kept.
  ASSERT_EQ(p.extra_header.size(), 1u);
  const ExtraElement& sig = p.extra_header[0];
  EXPECT_EQ(sig.name, "Signature");
  EXPECT_EQ(sig.ns, kNs);
  EXPECT_EQ(sig.text, "");
  ASSERT_EQ(sig.children.size(), 3u);
  const ExtraElement& signed_info = sig.children[0];
  EXPECT_EQ(signed_info.name, "SignedInfo");
  ASSERT_EQ(signed_info.children.size(), 3u);
  EXPECT_EQ(signed_info.children[0],
            el("CanonicalizationMethod", kNs, "",
               {{"Algorithm", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"}}));
  EXPECT_EQ(signed_info.children[1],
            el("SignatureMethod", kNs, "",
               {{"Algorithm", "http://www.w3.org/2000/09/xmldsig#rsa-sha1"}}));
  const ExtraElement& reference = signed_info.children[2];
  EXPECT_EQ(reference.name, "Reference");
  EXPECT_EQ(reference.attributes, (std::vector<std::pair<std::string, std::string>>{{"URI", ""}}));
  ASSERT_EQ(reference.children.size(), 3u);
  EXPECT_EQ(reference.children[0].name, "Transforms");
  ASSERT_EQ(reference.children[0].children.size(), 2u);
  EXPECT_EQ(reference.children[0].children[1],
            el("Transform", kNs, "", {{"Algorithm", "http://www.w3.org/TR/xml-exc-c14n#"}}));
  EXPECT_EQ(reference.children[2], el("DigestValue", kNs, "FwgIqsSYJshUS2+wlOM61L+q7Aw="));
  EXPECT_EQ(sig.children[1].name, "SignatureValue");
  EXPECT_THAT(sig.children[1].text, ::testing::StartsWith("GbVb8n9+qFxz466Ag0sbpVdLPs2R0+9J"));
  EXPECT_THAT(sig.children[1].text, ::testing::EndsWith("OQMiqtF3w=="));
  EXPECT_EQ(sig.children[2], el("KeyInfo", kNs, "", {},
                                {el("X509Data", kNs, "", {},
                                    {el("X509SubjectName", kNs, "CN=user05"),
                                     el("X509Certificate", kNs, "MIIFqTCCBJG")})}));

  EXPECT_TRUE(p.extra_envelope.empty());
  EXPECT_TRUE(p.extra_root.empty());
}

TEST(EdxmlSample, StatusPacketDecodesEveryField) {
  auto r = decode_edxml(read_file("status_processing_05.edxml"));
  ASSERT_TRUE(r) << r.error().code << ": " << r.error().message;
  const Package& p = *r;
  EXPECT_EQ(p.kind, PackageKind::status);
  EXPECT_EQ(p.document, DocumentHeader{});
  const StatusHeader& s = p.status;
  const Organization from{"000.00.00.H41",
                          "UBND Tỉnh Nghệ An",
                          "UBND Tỉnh Nghệ An",
                          "Số 03, đường Trường Thi, Thành phố Vinh, Tỉnh Nghệ An, Việt Nam",
                          "nghean@gov.vn",
                          "0383 840418",
                          "0383 843049",
                          "www.nghean.vn",
                          {}};
  EXPECT_EQ(s.from, from);
  EXPECT_EQ(s.response_for.organ_id, "000.00.00.G22");
  EXPECT_EQ(s.response_for.code, "7816/VPCP-TTĐT");
  EXPECT_EQ(s.response_for.promulgation_date, (Date{2015, 9, 30}));  // written 2015/09/30
  EXPECT_EQ(s.response_for.document_id, "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT");
  EXPECT_TRUE(s.response_for.extra.empty());
  // The sample indents StaffInfo with trailing spaces and tabs: leaf text is trimmed.
  const StaffInfo staff{
      "Phong hanh chinh", "Nguyen thi ngoc tram", "ngoctram@nghean.vn", "84912000001", {}};
  EXPECT_EQ(s.staff_info, staff);
  EXPECT_EQ(s.status_code, "05");
  EXPECT_STREQ(status_code_meaning(s.status_code), "processing");
  EXPECT_EQ(s.description, "Đang xử lý văn bản đến");
  EXPECT_EQ(s.timestamp, (DateTime{{2015, 9, 20}, 11, 8, 36}));
  EXPECT_TRUE(s.extra.empty());
  EXPECT_FALSE(p.trace_header_list);
  EXPECT_FALSE(p.has_body);
  EXPECT_TRUE(p.manifest.empty());
  EXPECT_TRUE(p.attachments.empty());
  EXPECT_TRUE(p.extra_header.empty());
  EXPECT_TRUE(p.extra_envelope.empty());
  EXPECT_TRUE(p.extra_root.empty());
}

TEST(EdxmlSample, DecodeFromAParsedTreeGivesTheSamePackage) {
  const std::string bytes = read_file("status_processing_05.edxml");
  auto doc = parse_xml(bytes);
  ASSERT_TRUE(doc);
  auto from_tree = decode_edxml(doc->get());
  auto from_bytes = decode_edxml(bytes);
  ASSERT_TRUE(from_tree);
  ASSERT_TRUE(from_bytes);
  EXPECT_TRUE(*from_tree == *from_bytes);
}

// The node keeps an attachment's digest, not its bytes: same digest, nothing decoded into memory.
TEST(EdxmlSample, DigestOnlyDecodingKeepsTheDigestAndNotTheBytes) {
  const std::string bytes = read_file("edoc_new.edxml");
  auto doc = parse_xml(bytes);
  ASSERT_TRUE(doc);
  auto kept = decode_edxml(doc->get());
  auto digest = decode_edxml(doc->get(), AttachmentData::digest_only);
  ASSERT_TRUE(kept);
  ASSERT_TRUE(digest);
  ASSERT_EQ(digest->attachments.size(), 1u);
  EXPECT_TRUE(digest->attachments[0].data.empty());
  EXPECT_EQ(digest->attachments[0].sha256_hex, kept->attachments[0].sha256_hex);
  digest->attachments[0].data = kept->attachments[0].data;
  EXPECT_TRUE(*digest == *kept);

  std::string broken = bytes;
  const auto at = broken.find("UEsDBBQACAgIAEuSPE0");
  ASSERT_NE(at, std::string::npos);
  broken[at + 5] = '*';
  auto bad = decode_edxml(broken);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "edxml.invalid_base64");
  EXPECT_NE(bad.error().message.find("line 122: <ContentTransferEncoded> is not valid base64"),
            std::string::npos)
      << bad.error().message;
}

TEST(EdxmlSample, ErrorInTheRealSampleNamesElementAndLine) {
  const std::string xml = replaced(read_file("edoc_new.edxml"), "30/10/2020", "31/02/2020");
  auto r = decode_edxml(xml);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "edxml.invalid_value");
  EXPECT_EQ(r.error().message, "line 33: <PromulgationDate> '31/02/2020' is not a valid date");
}

// ------------------------------------------------------------------------------------------------
// Round trips

void expect_round_trip(const Package& p) {
  const std::string bytes = encode_edxml(p);
  auto back = decode_edxml(bytes);
  ASSERT_TRUE(back) << back.error().code << ": " << back.error().message << "\n" << bytes;
  // EXPECT_TRUE rather than EXPECT_EQ: a failure must not print 270 KB of attachment bytes.
  EXPECT_TRUE(*back == p) << bytes.substr(0, 8000);
  EXPECT_EQ(encode_edxml(*back), bytes);  // the canonical form is stable
}

TEST(EdxmlRoundTrip, DocumentSample) {
  auto p = decode_edxml(read_file("edoc_new.edxml"));
  ASSERT_TRUE(p);
  expect_round_trip(*p);
}

TEST(EdxmlRoundTrip, StatusSample) {
  auto p = decode_edxml(read_file("status_processing_05.edxml"));
  ASSERT_TRUE(p);
  expect_round_trip(*p);
}

Organization organization(const std::string& id, const std::string& tag) {
  return Organization{id,
                      "Tỉnh " + tag,
                      "Sở " + tag,
                      "Số 1 đường " + tag,
                      tag + "@gov.vn",
                      "0276 111",
                      "0276 222",
                      "www." + tag + ".gov.vn",
                      {el("Level", kNs, "2")}};
}

StaffInfo staff(const std::string& tag) {
  return StaffInfo{"Phòng " + tag,
                   "Nguyễn " + tag,
                   tag + "@gov.vn",
                   "8491200000",
                   {el("Title", "", "chuyên viên")}};
}

// Bytes 0x00..0xFF, then 0x00 and 0xFF once more.
std::string all_bytes() {
  std::string data;
  for (int i = 0; i < 256; ++i) data += static_cast<char>(i);
  data += std::string("\x00\xFF", 2);
  return data;
}

Package full_document() {
  Package p;
  p.kind = PackageKind::document;
  DocumentHeader& h = p.document;
  h.from = organization("000.00.00.G22", "from");
  h.to = {organization("000.00.11.H53", "to1"), organization("000.20.31.H53", "to2")};
  h.document_id = "000.00.00.G22,2024/02/29,12/VPCP-KSTT";
  h.code_number = "12";
  h.code_notation = "VPCP-KSTT";
  h.promulgation_place = "Hà Nội";
  h.promulgation_date = Date{2024, 2, 29};
  h.type = "2";
  h.type_detail = "7";
  h.type_name = "Quyết định";
  h.subject = "Về việc <thử> & \"kiểm tra\" 'mã hoá' ]]> \r\n dòng mới";
  h.content = "Nội dung\ttab";
  h.signer_competence = "KT. BỘ TRƯỞNG";
  h.signer_position = "Thứ trưởng";
  h.signer_full_name = "Trần Văn A";
  h.due_date = Date{2024, 3, 15};
  h.to_places = {"Các bộ", "UBND các tỉnh"};
  h.other_info.priority = 4;
  h.other_info.sphere_of_promulgation = "Toàn quốc";
  h.other_info.typer_notation = "NVA";
  h.other_info.promulgation_amount = 30;
  h.other_info.page_amount = -1;  // nonsense, but kept as written
  h.other_info.direction = "true";
  h.other_info.appendixes = {"Phụ lục I", "", "Phụ lục III"};
  h.other_info.extra = {el("Secret", kNs, "0")};
  h.steering_type = 2;
  h.response_for = {el("ResponseFor", kNs, "", {},
                       {el("OrganId", kNs, "000.00.11.H53"), el("Code", kNs, "7/STC"),
                        el("PromulgationDate", kNs, "2024/01/02"),
                        el("DocumentId", kNs, "000.00.11.H53,2024/01/02,7/STC")}),
                    el("ResponseFor", kNs, "", {}, {el("OrganId", kNs, "000.20.31.H53")})};
  h.extra = {el("Custom", "urn:example:custom", "a < b & c > \"d\" 'e'",
                {{"kind", "x&y<z\"'\t"},
                 {"{urn:example:attr}flag", "on"},
                 {"{http://www.w3.org/XML/1998/namespace}lang", "vi"}},
                {el("Nested", "urn:example:custom", "", {{"n", "1"}},
                    {el("Deeper", "", "deep text"), el("Other", "urn:example:other", "x")})}),
             el("NoNamespace", "", "plain"),
             el("Mixed", kNs, "before", {}, {el("Inside", kNs, "in")})};

  TraceHeaderList l;
  l.trace_headers = {
      TraceHeader{"000.00.00.G22", DateTime{{2024, 2, 29}, 23, 59, 59}, {el("Hop", kNs, "1")}},
      TraceHeader{"000.00.11.H53", std::nullopt, {}}};
  Business b;
  b.document_id = "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT";
  b.doc_type = 3;
  b.doc_reason = "Thay thế";
  b.paper = 1;
  b.staff_info = staff("văn thư");
  b.replacement_info_list = {
      el("ReplacementInfo", kNs, "", {},
         {el("DocumentId", kNs, "000.00.00.G22,2024/01/01,1/VPCP"),
          el("OrganIdList", kNs, "", {}, {el("OrganId", kNs, "000.00.01.A53")})})};
  b.extra = {el("Channel", kNs, "peer")};
  l.business = b;
  l.extra = {el("Route", "urn:example:custom", "", {{"via", "axis"}})};
  p.trace_header_list = l;

  p.has_body = true;
  p.manifest_version = "1.0";
  p.manifest = {
      ManifestReference{
          "cid:1", "application/pdf", "Tờ trình", "to_trinh.pdf", {el("Pages", kNs, "3")}},
      ManifestReference{"cid:2", "application/octet-stream", "", "bin.dat", {}}};

  Attachment binary{"cid:1",
                    "to_trinh.pdf",
                    "Tờ trình",
                    "application/pdf",
                    all_bytes(),
                    "",
                    {el("Compression", kNs, "none")}};
  binary.sha256_hex = sha256_hex(binary.data);
  Attachment empty{"cid:2", "bin.dat", "", "application/octet-stream", "", sha256_hex(""), {}};
  p.attachments = {binary, empty};

  p.extra_header = {el("Signature", kNs, "", {}, {el("SignatureValue", kNs, "abc=")})};
  p.extra_envelope = {el("Note", "urn:example:custom", "envelope")};
  p.extra_root = {el("Trailer", "", "", {{"n", "1"}}),
                  el("Object", std::string(kXmlDsigNamespace), "dsig-ns, not a Signature")};
  return p;
}

Package full_status() {
  Package p;
  p.kind = PackageKind::status;
  StatusHeader& s = p.status;
  s.from = organization("000.00.11.H53", "status");
  s.response_for = ResponseFor{"000.00.00.G22",
                               "12/VPCP-KSTT",
                               Date{2000, 2, 29},
                               "000.00.00.G22,2000/02/29,12/VPCP-KSTT",
                               {el("Ref", kNs, "r")}};
  s.staff_info = staff("xử lý");
  s.status_code = "99";  // unknown to this node, kept as written
  s.description = "Mã trạng thái lạ";
  s.timestamp = DateTime{{1999, 12, 31}, 0, 0, 1};
  s.extra = {el("Reason", "urn:example:custom", "why", {{"{urn:example:custom}code", "7"}})};
  p.trace_header_list =
      TraceHeaderList{{TraceHeader{"000.00.11.H53", std::nullopt, {}}}, std::nullopt, {}};
  return p;
}

TEST(EdxmlRoundTrip, HandBuiltDocumentWithEveryField) {
  expect_round_trip(full_document());
}

TEST(EdxmlRoundTrip, HandBuiltStatusWithUnknownCode) {
  const Package p = full_status();
  expect_round_trip(p);
  auto back = decode_edxml(encode_edxml(p));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->kind, PackageKind::status);
  EXPECT_EQ(back->status.status_code, "99");
  EXPECT_EQ(status_code_meaning(back->status.status_code), nullptr);
}

TEST(EdxmlRoundTrip, StatusWithEmptyCodeStaysAStatus) {
  Package p;
  p.kind = PackageKind::status;
  expect_round_trip(p);
}

TEST(EdxmlRoundTrip, DefaultPackage) {
  expect_round_trip(Package{});
}

TEST(EdxmlRoundTrip, BinaryAttachmentBytesSurvive) {
  const Package p = full_document();
  auto back = decode_edxml(encode_edxml(p));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->attachments.size(), 2u);
  EXPECT_EQ(back->attachments[0].data, all_bytes());
  EXPECT_EQ(back->attachments[0].data[0], '\0');
  EXPECT_EQ(static_cast<unsigned char>(back->attachments[0].data.back()), 0xFF);
  EXPECT_EQ(back->attachments[1].data, "");
  EXPECT_EQ(back->attachments[1].sha256_hex,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// ------------------------------------------------------------------------------------------------
// The encoder's canonical form

TEST(EdxmlEncode, WritesCanonicalPrefixedForm) {
  auto p = decode_edxml(read_file("edoc_new.edxml"));
  ASSERT_TRUE(p);
  const std::string out = encode_edxml(*p);
  EXPECT_THAT(out,
              HasSubstr("<edXML:edXML xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">"));
  EXPECT_THAT(out, HasSubstr("<edXML:PromulgationDate>2020/10/30</edXML:PromulgationDate>"));
  EXPECT_THAT(out, HasSubstr("<edXML:Timestamp>2018/09/28 00:00:00</edXML:Timestamp>"));
  // Elements the samples carry are written even when empty.
  EXPECT_THAT(out, HasSubstr("<edXML:DueDate/>"));
  EXPECT_THAT(out, HasSubstr("<edXML:Competence/>"));
  EXPECT_THAT(out, HasSubstr("<edXML:Bussiness>"));
  EXPECT_THAT(out, HasSubstr("<edXML:edXMLManifest version=\"1.0\">"));
  EXPECT_THAT(out,
              HasSubstr("<edXML:ContentTransferEncoded>" + base64_encode(p->attachments[0].data) +
                        "</edXML:ContentTransferEncoded>"));
  // Nothing outside the QCVN namespace, no default namespace.
  EXPECT_THAT(out, ::testing::Not(HasSubstr("xmlns=")));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("<Signature")));
}

TEST(EdxmlEncode, OmitsWhatIsAbsent) {
  auto p = decode_edxml(read_file("status_processing_05.edxml"));
  ASSERT_TRUE(p);
  const std::string out = encode_edxml(*p);
  EXPECT_THAT(out, HasSubstr("<edXML:StatusCode>05</edXML:StatusCode>"));
  EXPECT_THAT(out, HasSubstr("<edXML:Timestamp>2015/09/20 11:08:36</edXML:Timestamp>"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("TraceHeaderList")));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("edXMLBody")));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("AttachmentEncoded")));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("<edXML:Subject")));  // document-only fields
}

TEST(EdxmlEncode, EscapesTextAndAttributes) {
  const std::string out = encode_edxml(full_document());
  EXPECT_THAT(out, HasSubstr("a &lt; b &amp; c &gt; \"d\" 'e'"));
  EXPECT_THAT(out, HasSubstr("kind=\"x&amp;y&lt;z&quot;'&#9;\""));
  EXPECT_THAT(out, HasSubstr("xml:lang=\"vi\""));
  EXPECT_THAT(out, HasSubstr("]]&gt;"));
  EXPECT_TRUE(parse_xml(out));
}

TEST(EdxmlEncode, DocTreeDecodesWithoutReserialising) {
  const Package p = full_document();
  XmlDoc doc = encode_edxml_doc(p);
  auto back = decode_edxml(doc.get());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(*back == p);
}

// ------------------------------------------------------------------------------------------------
// Messy input

// {P} is the element prefix (with its colon), {NS} the namespace declaration on the root.
constexpr std::string_view kMessyTemplate = R"(<?xml version="1.0" encoding="UTF-8"?>
<{P}edXML {NS}>
  <{P}edXMLEnvelope>
    <{P}edXMLHeader>
      <{P}MessageHeader>
        <{P}From><{P}OrganId>
          000.00.00.G22
        </{P}OrganId><{P}OrganName/></{P}From>
        <{P}To><{P}OrganId>000.00.11.H53</{P}OrganId></{P}To>
        <{P}To><{P}OrganId>000.20.31.H53</{P}OrganId><{P}Email></{P}Email></{P}To>
        <{P}Subject>
          Cần trim
        </{P}Subject>
        <{P}Code><{P}CodeNumber>5</{P}CodeNumber><{P}Serial>A1</{P}Serial></{P}Code>
        <{P}PromulgationInfo>
          <{P}PromulgationDate>5/1/2021</{P}PromulgationDate>
        </{P}PromulgationInfo>
        <{P}DueDate>  2021/01/15 </{P}DueDate>
        <{P}OtherInfo><{P}Priority/><{P}PageAmount> 3 </{P}PageAmount><{P}PromulgationAmount>
        </{P}PromulgationAmount></{P}OtherInfo>
        <{P}SteeringType></{P}SteeringType>
        <{P}Unknown a="1" xmlns:v="urn:v" v:b="2">text<{P}Child>x</{P}Child></{P}Unknown>
      </{P}MessageHeader>
      <{P}TraceHeaderList>
        <{P}TraceHeader>
          <{P}OrganId/><{P}Timestamp>2021-01-05T08:30:00</{P}Timestamp>
        </{P}TraceHeader>
        <{P}TraceHeader><{P}Timestamp>05/01/2021 17:00:09</{P}Timestamp></{P}TraceHeader>
        <{P}Business><{P}Paper>1</{P}Paper><{P}BussinessDocType/></{P}Business>
      </{P}TraceHeaderList>
      <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/></ds:Signature>
    </{P}edXMLHeader>
    <{P}edXMLBody><{P}edXMLManifest>
      <{P}Reference><{P}ContentId>cid:1</{P}ContentId></{P}Reference>
    </{P}edXMLManifest></{P}edXMLBody>
  </{P}edXMLEnvelope>
  <{P}AttachmentEncoded>
    <{P}Attachment>
      <{P}ContentId>cid:1</{P}ContentId>
      <{P}ContentTransferEncoded>
        aGVs
        bG8=
      </{P}ContentTransferEncoded>
    </{P}Attachment>
  </{P}AttachmentEncoded>
</{P}edXML>
)";

std::string messy(std::string_view prefix, std::string_view ns_declaration) {
  return replaced_all(replaced_all(std::string(kMessyTemplate), "{P}", prefix), "{NS}",
                      ns_declaration);
}

void check_messy(const Package& p, const std::string& ns) {
  EXPECT_EQ(p.kind, PackageKind::document);
  const DocumentHeader& h = p.document;
  EXPECT_EQ(h.from.organ_id, "000.00.00.G22");
  EXPECT_EQ(h.from.organ_name, "");
  ASSERT_EQ(h.to.size(), 2u);
  EXPECT_EQ(h.to[0].organ_id, "000.00.11.H53");
  EXPECT_EQ(h.to[1].organ_id, "000.20.31.H53");
  EXPECT_EQ(h.subject, "Cần trim");
  EXPECT_EQ(h.code_number, "5");
  EXPECT_EQ(h.promulgation_date, (Date{2021, 1, 5}));  // d/M/yyyy
  EXPECT_EQ(h.due_date, (Date{2021, 1, 15}));          // yyyy/MM/dd
  EXPECT_EQ(h.other_info.priority, std::nullopt);
  EXPECT_EQ(h.other_info.page_amount, 3);
  EXPECT_EQ(h.other_info.promulgation_amount, std::nullopt);  // white space only
  EXPECT_EQ(h.steering_type, std::nullopt);
  // Unknown children: the one of <Code> (which has no extra of its own) and the one of the header.
  ASSERT_EQ(h.extra.size(), 2u);
  EXPECT_EQ(h.extra[0], el("Serial", ns, "A1"));
  EXPECT_EQ(h.extra[1],
            el("Unknown", ns, "text", {{"a", "1"}, {"{urn:v}b", "2"}}, {el("Child", ns, "x")}));
  ASSERT_TRUE(p.trace_header_list);
  ASSERT_EQ(p.trace_header_list->trace_headers.size(), 2u);
  EXPECT_EQ(p.trace_header_list->trace_headers[0].timestamp, (DateTime{{2021, 1, 5}, 8, 30, 0}));
  EXPECT_EQ(p.trace_header_list->trace_headers[1].timestamp, (DateTime{{2021, 1, 5}, 17, 0, 9}));
  ASSERT_TRUE(p.trace_header_list->business);  // the correct spelling is read too
  EXPECT_EQ(p.trace_header_list->business->paper, 1);
  EXPECT_EQ(p.trace_header_list->business->doc_type, std::nullopt);
  EXPECT_TRUE(p.extra_header.empty());  // the XML-DSig signature is left to the signing module
  EXPECT_TRUE(p.has_body);
  EXPECT_EQ(p.manifest_version, "");
  ASSERT_EQ(p.manifest.size(), 1u);
  EXPECT_EQ(p.manifest[0].content_id, "cid:1");
  ASSERT_EQ(p.attachments.size(), 1u);
  EXPECT_EQ(p.attachments[0].data, "hello");  // base64 across lines
  EXPECT_EQ(p.attachments[0].sha256_hex, sha256_hex("hello"));
}

TEST(EdxmlMessy, AnyPrefixDefaultNamespaceOrNoNamespace) {
  const std::string prefixed = messy("x:", "xmlns:x=\"" + kNs + "\"");
  const std::string defaulted = messy("", "xmlns=\"" + kNs + "\"");
  const std::string bare = messy("", "");
  auto a = decode_edxml(prefixed);
  auto b = decode_edxml(defaulted);
  auto c = decode_edxml(bare);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  ASSERT_TRUE(c) << c.error().message;
  check_messy(*a, kNs);
  check_messy(*b, kNs);
  check_messy(*c, "");  // unknown elements keep their (absent) namespace
  EXPECT_TRUE(*a == *b);
  expect_round_trip(*a);
  expect_round_trip(*c);
}

TEST(EdxmlMessy, ElementsInOtherNamespacesAreExtra) {
  const std::string xml = R"(<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"
    xmlns:o="urn:other"><edXMLEnvelope><edXMLHeader><MessageHeader>
    <o:Subject>not ours</o:Subject><Subject>ours</Subject>
    </MessageHeader></edXMLHeader><edXMLBody><edXMLManifest><o:Index/></edXMLManifest></edXMLBody>
    </edXMLEnvelope><AttachmentEncoded><o:Hint/></AttachmentEncoded></edXML>)";
  auto r = decode_edxml(xml);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->document.subject, "ours");
  ASSERT_EQ(r->document.extra.size(), 1u);
  EXPECT_EQ(r->document.extra[0], el("Subject", "urn:other", "not ours"));
  // edXMLManifest and AttachmentEncoded have no extra in the model: the nearest enclosing one.
  EXPECT_EQ(r->extra_envelope, std::vector<ExtraElement>{el("Index", "urn:other")});
  EXPECT_EQ(r->extra_root, std::vector<ExtraElement>{el("Hint", "urn:other")});
  expect_round_trip(*r);
}

TEST(EdxmlMessy, StatusCodeMakesAStatusPacket) {
  const std::string xml = R"(<edXML><edXMLEnvelope><edXMLHeader><MessageHeader>
    <From><OrganId>000.00.11.H53</OrganId></From>
    <Subject>belongs to documents only</Subject>
    <StatusCode>13</StatusCode><Timestamp>31/12/2020 23:59:59</Timestamp>
    </MessageHeader></edXMLHeader></edXMLEnvelope></edXML>)";
  auto r = decode_edxml(xml);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->kind, PackageKind::status);
  EXPECT_EQ(r->status.from.organ_id, "000.00.11.H53");
  EXPECT_EQ(r->status.status_code, "13");
  EXPECT_EQ(r->status.timestamp, (DateTime{{2020, 12, 31}, 23, 59, 59}));
  EXPECT_EQ(r->status.extra,
            std::vector<ExtraElement>{el("Subject", "", "belongs to documents only")});
  EXPECT_EQ(r->document, DocumentHeader{});
}

TEST(EdxmlMessy, CdataAndEntitiesInText) {
  const std::string xml = R"(<edXML><edXMLEnvelope><edXMLHeader><MessageHeader>
    <Subject><![CDATA[ a <b> & c ]]></Subject><Content>x &amp; y &#x1EA1;</Content>
    </MessageHeader></edXMLHeader></edXMLEnvelope></edXML>)";
  auto r = decode_edxml(xml);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->document.subject, "a <b> & c");
  EXPECT_EQ(r->document.content, "x & y ạ");
}

// ------------------------------------------------------------------------------------------------
// Malformed input

constexpr std::string_view kMinimal = R"(<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXMLEnvelope>
    <edXMLHeader>
      <MessageHeader>
        <From><OrganId>000.00.00.G22</OrganId></From>
        <PromulgationInfo><PromulgationDate>2020/02/29</PromulgationDate></PromulgationInfo>
        <OtherInfo><Priority>1</Priority></OtherInfo>
      </MessageHeader>
      <TraceHeaderList>
        <TraceHeader><Timestamp>2020/02/29 12:00:00</Timestamp></TraceHeader>
      </TraceHeaderList>
    </edXMLHeader>
  </edXMLEnvelope>
  <AttachmentEncoded>
    <Attachment>
      <ContentId>cid:1</ContentId>
      <ContentTransferEncoded>aGVsbG8=</ContentTransferEncoded>
    </Attachment>
  </AttachmentEncoded>
</edXML>
)";

TEST(EdxmlMalformed, MinimalBaselineDecodes) {
  auto r = decode_edxml(std::string(kMinimal));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->document.promulgation_date, (Date{2020, 2, 29}));  // leap year
  EXPECT_EQ(r->document.other_info.priority, 1);
  EXPECT_EQ(r->attachments.at(0).data, "hello");
}

TEST(EdxmlMalformed, WrongRoot) {
  const std::string xml = "<?xml version=\"1.0\"?>\n<html><body/></html>";
  expect_error(xml, "edxml.not_edxml", "html", "<html>");
}

TEST(EdxmlMalformed, RootInAnotherNamespace) {
  const std::string xml = "<?xml version=\"1.0\"?>\n\n<edXML xmlns=\"urn:not-qcvn\"/>";
  expect_error(xml, "edxml.not_edxml", "edXML", "<edXML", "urn:not-qcvn");
}

TEST(EdxmlMalformed, MissingEnvelope) {
  const std::string xml = "<edXML xmlns=\"" + kNs + "\">\n  <AttachmentEncoded/>\n</edXML>";
  expect_error(xml, "edxml.missing_element", "edXML", "<edXML", "has no <edXMLEnvelope>");
}

TEST(EdxmlMalformed, MissingHeader) {
  const std::string xml = replaced(replaced(std::string(kMinimal), "<edXMLHeader>", "<Other>"),
                                   "</edXMLHeader>", "</Other>");
  expect_error(xml, "edxml.missing_element", "edXMLEnvelope", "<edXMLEnvelope>",
               "has no <edXMLHeader>");
}

TEST(EdxmlMalformed, MissingMessageHeader) {
  const std::string xml = replaced(replaced(std::string(kMinimal), "<MessageHeader>", "<Header>"),
                                   "</MessageHeader>", "</Header>");
  expect_error(xml, "edxml.missing_element", "edXMLHeader", "<edXMLHeader>",
               "has no <MessageHeader>");
}

TEST(EdxmlMalformed, ImpossibleDate) {
  const std::string xml = replaced(std::string(kMinimal), "2020/02/29<", "31/02/2020<");
  expect_error(xml, "edxml.invalid_value", "PromulgationDate", "<PromulgationDate>",
               "'31/02/2020' is not a valid date");
}

TEST(EdxmlMalformed, NotALeapYear) {
  const std::string xml = replaced(std::string(kMinimal), "2020/02/29<", "2100/02/29<");
  expect_error(xml, "edxml.invalid_value", "PromulgationDate", "<PromulgationDate>", "2100/02/29");
}

TEST(EdxmlMalformed, BadTimestamp) {
  const std::string xml =
      replaced(std::string(kMinimal), "2020/02/29 12:00:00", "2020/02/29 24:00:00");
  expect_error(xml, "edxml.invalid_value", "Timestamp", "<Timestamp>", "'2020/02/29 24:00:00'");
}

TEST(EdxmlMalformed, NonNumericPriority) {
  const std::string xml = replaced(std::string(kMinimal), "<Priority>1<", "<Priority>high<");
  expect_error(xml, "edxml.invalid_value", "Priority", "<Priority>", "'high' is not an integer");
}

TEST(EdxmlMalformed, PriorityWithTrailingGarbage) {
  const std::string xml = replaced(std::string(kMinimal), "<Priority>1<", "<Priority>1.5<");
  expect_error(xml, "edxml.invalid_value", "Priority", "<Priority>", "'1.5'");
}

TEST(EdxmlMalformed, BadBase64) {
  const std::string xml = replaced(std::string(kMinimal), "aGVsbG8=", "aGVs*bG8=");
  expect_error(xml, "edxml.invalid_base64", "ContentTransferEncoded", "<ContentTransferEncoded>",
               "not valid base64");
}

TEST(EdxmlMalformed, DuplicatedSingularElement) {
  const std::string xml = replaced(std::string(kMinimal), "<OtherInfo>",
                                   "<From><OrganId>000.00.00.H41</OrganId></From>\n<OtherInfo>");
  expect_error(xml, "edxml.duplicate_element", "From", "<From><OrganId>000.00.00.H41",
               "more than once in <MessageHeader>");
}

TEST(EdxmlMalformed, BothSpellingsOfBusiness) {
  const std::string xml = replaced(std::string(kMinimal), "</TraceHeaderList>",
                                   "<Bussiness/>\n<Business/>\n</TraceHeaderList>");
  expect_error(xml, "edxml.duplicate_element", "Business", "<Business/>");
}

// Code, ToPlaces, AttachmentEncoded... have no extra of their own; their unknown children are kept
// in the parent's. One named like an element the parent reads would come back as that element.
TEST(EdxmlMalformed, KnownNameInAFlattenedContainer) {
  expect_error(
      replaced(std::string(kMinimal), "<OtherInfo>",
               "<Code><CodeNumber>1</CodeNumber>\n<Subject>x</Subject></Code>\n<OtherInfo>"),
      "edxml.unexpected_element", "Subject", "<Subject>", "not expected inside <Code>");
  expect_error(replaced(std::string(kMinimal), "<OtherInfo>",
                        "<ToPlaces>\n<StatusCode>01</StatusCode></ToPlaces>\n<OtherInfo>"),
               "edxml.unexpected_element", "StatusCode", "<StatusCode>",
               "not expected inside <ToPlaces>");
  expect_error(
      replaced(std::string(kMinimal), "<Attachment>", "<AttachmentEncoded/>\n<Attachment>"),
      "edxml.unexpected_element", "AttachmentEncoded", "<AttachmentEncoded/>");
  expect_error(replaced(std::string(kMinimal), "<Priority>1</Priority>",
                        "<Appendixes><Appendix/>\n<Priority>2</Priority></Appendixes>"),
               "edxml.unexpected_element", "Priority", "<Priority>2");
}

// libxml2 accepts an undeclared prefix (the name keeps it, in no namespace); the codec does not.
TEST(EdxmlMalformed, UndeclaredPrefix) {
  // From bytes, parse_xml refuses the namespace error first, naming the line.
  const std::string element = replaced(std::string(kMinimal), "<OtherInfo>",
                                       "<edXML:Subject>s</edXML:Subject>\n<OtherInfo>");
  auto from_bytes = decode_edxml(element);
  ASSERT_FALSE(from_bytes);
  EXPECT_EQ(from_bytes.error().code, "xml.malformed");
  EXPECT_THAT(from_bytes.error().message,
              HasSubstr("line " + std::to_string(line_of(element, "<edXML:Subject>"))));

  // A tree parsed elsewhere, without that check, is refused by the codec itself.
  auto lax = [](const std::string& xml) {
    return XmlDoc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  };
  auto tree = lax(element);
  ASSERT_TRUE(tree);
  auto r = decode_edxml(tree.get());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "edxml.undeclared_prefix");
  EXPECT_THAT(r.error().message, HasSubstr("uses the prefix 'edXML', which is not declared"));
  auto attr_tree =
      lax(replaced(std::string(kMinimal), "<OtherInfo>", "<Foo p:a=\"1\"/>\n<OtherInfo>"));
  ASSERT_TRUE(attr_tree);
  auto a = decode_edxml(attr_tree.get());
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, "edxml.undeclared_prefix");
  EXPECT_THAT(a.error().message, HasSubstr("attribute 'p:a'"));
}

TEST(EdxmlMalformed, XmlErrorsPassThroughUnchanged) {
  auto truncated = decode_edxml(std::string_view(kMinimal).substr(0, 200));
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, "xml.malformed");
  auto doctype = decode_edxml("<!DOCTYPE edXML [<!ENTITY x \"y\">]><edXML/>");
  ASSERT_FALSE(doctype);
  EXPECT_EQ(doctype.error().code, "xml.doctype_forbidden");
  XmlLimits small;
  small.max_bytes = 100;
  auto too_large = decode_edxml(kMinimal, small);
  ASSERT_FALSE(too_large);
  EXPECT_EQ(too_large.error().code, "xml.too_large");
}

TEST(EdxmlMalformed, NullTree) {
  auto r = decode_edxml(static_cast<xmlDoc*>(nullptr));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "edxml.not_edxml");
}

// ------------------------------------------------------------------------------------------------
// Date and timestamp values

TEST(EdxmlValues, Dates) {
  Date d;
  ASSERT_TRUE(parse_edxml_date("2015/09/30", d));
  EXPECT_EQ(d, (Date{2015, 9, 30}));
  ASSERT_TRUE(parse_edxml_date("30/10/2020", d));
  EXPECT_EQ(d, (Date{2020, 10, 30}));
  ASSERT_TRUE(parse_edxml_date("2020-10-30", d));
  EXPECT_EQ(d, (Date{2020, 10, 30}));
  ASSERT_TRUE(parse_edxml_date(" 1/2/2021\n", d));
  EXPECT_EQ(d, (Date{2021, 2, 1}));
  ASSERT_TRUE(parse_edxml_date("2000/02/29", d));  // divisible by 400
  ASSERT_TRUE(parse_edxml_date("2024/02/29", d));
  for (std::string_view bad :
       {"", "2014/02/30", "1900/02/29", "2023/02/29", "31/04/2020", "2020/13/01", "2020/00/10",
        "2020/01/00", "2020/01/32", "0000/01/01", "20/10/30", "2020/10-30", "2020/10/30x",
        "2020/10/30 10:00:00", "12020/10/30", "2020/010/30", "+2020/10/30", "30.10.2020"}) {
    Date untouched{1, 1, 1};
    EXPECT_FALSE(parse_edxml_date(bad, untouched)) << bad;
    EXPECT_EQ(untouched, (Date{1, 1, 1})) << bad;
  }
}

TEST(EdxmlValues, Timestamps) {
  DateTime t;
  ASSERT_TRUE(parse_edxml_date_time("2015/09/20 11:08:36", t));
  EXPECT_EQ(t, (DateTime{{2015, 9, 20}, 11, 8, 36}));
  ASSERT_TRUE(parse_edxml_date_time("2015-09-20T11:08:36", t));
  EXPECT_EQ(t, (DateTime{{2015, 9, 20}, 11, 8, 36}));
  ASSERT_TRUE(parse_edxml_date_time("20/09/2015 07:08:36", t));
  EXPECT_EQ(t, (DateTime{{2015, 9, 20}, 7, 8, 36}));
  for (std::string_view bad :
       {"", "2015/09/20", "2015/09/20 11:08", "2015/09/20 24:00:00", "2015/09/20 11:60:00",
        "2015/09/20 11:08:60", "2015/09/20T11:08:36Z", "2015/09/20 11:08:36.5",
        "2015/02/30 11:08:36", "2015/09/2011:08:36"}) {
    EXPECT_FALSE(parse_edxml_date_time(bad, t)) << bad;
  }
}

TEST(EdxmlValues, CanonicalFormats) {
  EXPECT_EQ(format_edxml_date(Date{2020, 1, 5}), "2020/01/05");
  EXPECT_EQ(format_edxml_date(Date{987, 12, 31}), "0987/12/31");
  EXPECT_EQ(format_edxml_date_time(DateTime{{2018, 9, 28}, 0, 0, 0}), "2018/09/28 00:00:00");
  EXPECT_EQ(format_edxml_date_time(DateTime{{2015, 9, 20}, 11, 8, 36}), "2015/09/20 11:08:36");
}

}  // namespace
}  // namespace lienthong

#include "adapters/folder/drop_folder.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace lienthong {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kNow = 1'700'000'000;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void put(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void set_mtime(const fs::path& path, std::int64_t seconds) {
  fs::last_write_time(path, std::chrono::file_clock::from_sys(
                                std::chrono::sys_seconds(std::chrono::seconds(seconds))));
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

class DropFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("lt-drop-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(root_ / "in", fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(root_, ec);
  }

  DropFolder& folder(DropFolderOptions options = {.settle_seconds = 10, .max_bytes = 1 << 20}) {
    folder_ = std::make_unique<DropFolder>(
        root_, clock_,
        [this](PackageBytes package) -> Expected<std::string> {
          auto bytes = package.read_all();
          if (!bytes) return bytes.error();
          spooled_.push_back(package.file != nullptr);
          calls_.push_back(*bytes);
          return answer_(*bytes);
        },
        options);
    return *folder_;
  }

  // Drops a file into in/ whose last write was at `mtime`.
  fs::path drop(const std::string& name, const std::string& bytes, std::int64_t mtime) {
    const fs::path path = root_ / "in" / name;
    put(path, bytes);
    set_mtime(path, mtime);
    return path;
  }

  fs::path root_;
  ManualClock clock_{kNow};
  std::vector<std::string> calls_;
  std::vector<bool> spooled_;  // whether each import came spooled
  std::function<Expected<std::string>(const std::string&)> answer_ =
      [](const std::string&) -> Expected<std::string> { return std::string("document 42"); };
  std::unique_ptr<DropFolder> folder_;
};

TEST_F(DropFolderTest, CreatesItsSubfolders) {
  folder();
  for (const char* sub : {"in", "done", "failed", "out"}) {
    EXPECT_TRUE(fs::is_directory(root_ / sub)) << sub;
  }
}

TEST_F(DropFolderTest, RefusesARootThatIsAFile) {
  put(root_.string() + ".file", "x");
  root_ += ".file";
  EXPECT_THROW(folder(), std::runtime_error);
}

TEST_F(DropFolderTest, ImportsASettledFileIntoDoneWithItsReceipt) {
  folder();
  drop("a.edxml", "<edXML>a</edXML>", kNow - 60);

  Expected<ScanResult> r = folder_->scan();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->imported, 1u);
  EXPECT_EQ(r->failed, 0u);
  EXPECT_EQ(r->waiting, 0u);
  EXPECT_EQ(calls_, std::vector<std::string>{"<edXML>a</edXML>"});
  EXPECT_TRUE(names_in(root_ / "in").empty());
  EXPECT_EQ(names_in(root_ / "done"), (std::set<std::string>{"a.edxml", "a.edxml.receipt"}));
  EXPECT_EQ(slurp(root_ / "done" / "a.edxml"), "<edXML>a</edXML>");
  EXPECT_EQ(slurp(root_ / "done" / "a.edxml.receipt"), "document 42\n");
  EXPECT_TRUE(names_in(root_ / "failed").empty());

  // Nothing is left to import a second time.
  r = folder_->scan();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->imported, 0u);
  EXPECT_EQ(calls_.size(), 1u);
}

TEST_F(DropFolderTest, ARefusedFileGoesToFailedWithItsReason) {
  folder();
  answer_ = [](const std::string&) -> Expected<std::string> {
    return Error{"edxml.invalid", "no Header\nelement"};
  };
  drop("b.XML", "<bad/>", kNow - 60);

  Expected<ScanResult> r = folder_->scan();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->imported, 0u);
  EXPECT_EQ(r->failed, 1u);
  EXPECT_EQ(calls_.size(), 1u);
  EXPECT_TRUE(names_in(root_ / "in").empty());
  EXPECT_TRUE(names_in(root_ / "done").empty());
  EXPECT_EQ(names_in(root_ / "failed"), (std::set<std::string>{"b.XML", "b.XML.reason"}));
  EXPECT_EQ(slurp(root_ / "failed" / "b.XML"), "<bad/>");
  EXPECT_EQ(slurp(root_ / "failed" / "b.XML.reason"), "edxml.invalid\nno Header element\n");
}

TEST_F(DropFolderTest, LeavesUnsettledAndIncompleteFilesAlone) {
  folder();
  drop("new.edxml", "new", kNow - 5);
  drop(".hidden.edxml", "hidden", kNow - 600);
  drop("x.edxml.tmp", "tmp", kNow - 600);
  drop("y.xml.part", "part", kNow - 600);
  drop("notes.txt", "txt", kNow - 600);
  drop("z.part.xml.tmp", "tmp2", kNow - 600);
  fs::create_directory(root_ / "in" / "dir.edxml");
  const std::set<std::string> all = names_in(root_ / "in");

  Expected<ScanResult> r = folder_->scan();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->imported, 0u);
  EXPECT_EQ(r->failed, 0u);
  EXPECT_EQ(r->waiting, 1u);
  EXPECT_TRUE(calls_.empty());
  EXPECT_EQ(names_in(root_ / "in"), all);

  // Exactly `settle_seconds` after its last write the file is taken; the others never are.
  clock_.advance(5);
  r = folder_->scan();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->imported, 1u);
  EXPECT_EQ(r->waiting, 0u);
  EXPECT_EQ(calls_, std::vector<std::string>{"new"});
  std::set<std::string> left = all;
  left.erase("new.edxml");
  EXPECT_EQ(names_in(root_ / "in"), left);
}

TEST_F(DropFolderTest, RefusesAnOversizeFileWithoutImportingIt) {
  folder({.settle_seconds = 10, .max_bytes = 16});
  drop("big.edxml", std::string(17, 'x'), kNow - 60);
  drop("fits.edxml", std::string(16, 'y'), kNow - 50);

  Expected<ScanResult> r = folder_->scan();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->imported, 1u);
  EXPECT_EQ(r->failed, 1u);
  EXPECT_EQ(calls_, std::vector<std::string>{std::string(16, 'y')});
  EXPECT_EQ(slurp(root_ / "failed" / "big.edxml"), std::string(17, 'x'));
  const std::string reason = slurp(root_ / "failed" / "big.edxml.reason");
  EXPECT_EQ(reason.substr(0, reason.find('\n')), "folder.too_large");
  EXPECT_NE(reason.find("16"), std::string::npos) << reason;
  EXPECT_TRUE(fs::exists(root_ / "done" / "fits.edxml"));
}

// A large file is copied into a spool, not read into memory; small ones are read as before.
TEST_F(DropFolderTest, ALargeFileComesSpooledWhole) {
  folder({.settle_seconds = 10, .max_bytes = 3 << 20});
  std::string large;
  for (int i = 0; large.size() < (2u << 20) + 12345; ++i) large += std::to_string(i) + ' ';
  drop("large.edxml", large, kNow - 60);
  drop("too-large.edxml", std::string((3 << 20) + 1, 'x'), kNow - 50);
  drop("small.edxml", "<edXML/>", kNow - 40);

  Expected<ScanResult> r = folder_->scan();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->imported, 2u);
  EXPECT_EQ(r->failed, 1u);
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_TRUE(calls_[0] == large);
  EXPECT_EQ(calls_[1], "<edXML/>");
  EXPECT_EQ(spooled_, (std::vector<bool>{true, false}));
  const std::string reason = slurp(root_ / "failed" / "too-large.edxml.reason");
  EXPECT_EQ(reason.substr(0, reason.find('\n')), "folder.too_large");
}

TEST_F(DropFolderTest, ATakenNameGetsANumericSuffix) {
  folder();
  put(root_ / "done" / "a.edxml", "old a");
  put(root_ / "done" / "a.1.edxml", "old a.1");
  put(root_ / "done" / "c.edxml.receipt", "receipt of a c that was removed");
  put(root_ / "failed" / "b.xml", "old b");
  answer_ = [](const std::string& bytes) -> Expected<std::string> {
    if (bytes == "new b") return Error{"edxml.invalid", "bad"};
    return std::string("ok");
  };
  drop("a.edxml", "new a", kNow - 60);
  drop("b.xml", "new b", kNow - 60);
  drop("c.edxml", "new c", kNow - 60);

  Expected<ScanResult> r = folder_->scan();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->imported, 2u);
  EXPECT_EQ(r->failed, 1u);
  EXPECT_EQ(slurp(root_ / "done" / "a.edxml"), "old a");
  EXPECT_EQ(slurp(root_ / "done" / "a.1.edxml"), "old a.1");
  EXPECT_EQ(slurp(root_ / "done" / "a.2.edxml"), "new a");
  EXPECT_EQ(slurp(root_ / "done" / "a.2.edxml.receipt"), "ok\n");
  EXPECT_EQ(slurp(root_ / "done" / "c.edxml.receipt"), "receipt of a c that was removed");
  EXPECT_EQ(slurp(root_ / "done" / "c.1.edxml"), "new c");
  EXPECT_EQ(slurp(root_ / "done" / "c.1.edxml.receipt"), "ok\n");
  EXPECT_EQ(slurp(root_ / "failed" / "b.xml"), "old b");
  EXPECT_EQ(slurp(root_ / "failed" / "b.1.xml"), "new b");
  EXPECT_EQ(slurp(root_ / "failed" / "b.1.xml.reason"), "edxml.invalid\nbad\n");
}

TEST_F(DropFolderTest, ImportsOldestFirstThenByName) {
  folder();
  drop("a.edxml", "a", kNow - 50);
  drop("c.edxml", "c", kNow - 100);
  drop("b.xml", "b", kNow - 100);
  drop("d.edxml", "d", kNow - 3000);

  Expected<ScanResult> r = folder_->scan();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->imported, 4u);
  EXPECT_EQ(calls_, (std::vector<std::string>{"d", "b", "c", "a"}));
}

TEST_F(DropFolderTest, AFileThatCannotBeMovedStaysInIn) {
  folder();
  drop("a.edxml", "a", kNow - 60);
  fs::remove(root_ / "done");
  put(root_ / "done", "not a folder");

  Expected<ScanResult> r = folder_->scan();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "folder.io");
  EXPECT_NE(r.error().message.find((root_ / "in" / "a.edxml").string()), std::string::npos)
      << r.error().message;
  EXPECT_EQ(slurp(root_ / "in" / "a.edxml"), "a");

  // Accepted but not moved: offered again once the folder is back.
  fs::remove(root_ / "done");
  fs::create_directory(root_ / "done");
  r = folder_->scan();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->imported, 1u);
  EXPECT_EQ(calls_.size(), 2u);
  EXPECT_EQ(slurp(root_ / "done" / "a.edxml"), "a");
}

TEST_F(DropFolderTest, AFileThatCannotBeReadStaysInInAndTheOthersGoOn) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their permissions";
  folder();
  const fs::path locked = drop("a.edxml", "a", kNow - 100);
  drop("b.edxml", "b", kNow - 60);
  fs::permissions(locked, fs::perms::none);

  Expected<ScanResult> r = folder_->scan();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "folder.io");
  EXPECT_NE(r.error().message.find(locked.string()), std::string::npos) << r.error().message;
  EXPECT_TRUE(fs::exists(locked));
  EXPECT_EQ(calls_, std::vector<std::string>{"b"});
  EXPECT_EQ(slurp(root_ / "done" / "b.edxml"), "b");
}

TEST_F(DropFolderTest, ExportWritesTheWholeFileUnderItsName) {
  folder();
  const std::string bytes = "<edXML>status</edXML>\n" + std::string(100000, 'z');
  Expected<fs::path> p = folder_->export_package("status-01.edxml", bytes);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(*p, root_ / "out" / "status-01.edxml");
  EXPECT_EQ(slurp(*p), bytes);
  EXPECT_EQ(names_in(root_ / "out"), std::set<std::string>{"status-01.edxml"});
  EXPECT_TRUE(calls_.empty());
}

TEST_F(DropFolderTest, ExportDoesNotOverwrite) {
  folder();
  ASSERT_TRUE(folder_->export_package("p.edxml", "first"));
  Expected<fs::path> second = folder_->export_package("p.edxml", "second");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(*second, root_ / "out" / "p.1.edxml");
  EXPECT_EQ(slurp(root_ / "out" / "p.edxml"), "first");
  EXPECT_EQ(slurp(*second), "second");
  EXPECT_EQ(names_in(root_ / "out"), (std::set<std::string>{"p.edxml", "p.1.edxml"}));
}

TEST_F(DropFolderTest, ExportSanitizesTheName) {
  folder();
  Expected<fs::path> p = folder_->export_package("../evil name/\xC3\xA7.edxml", "x");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(*p, root_ / "out" / "_._evil_name___.edxml");
  EXPECT_EQ(slurp(*p), "x");
  EXPECT_EQ(names_in(root_ / "out"), std::set<std::string>{"_._evil_name___.edxml"});

  EXPECT_EQ(sanitize_drop_name(".hidden"), "_hidden");
  EXPECT_EQ(sanitize_drop_name("A-z_0.9"), "A-z_0.9");
  const std::string long_name = sanitize_drop_name(std::string(300, 'a') + ".edxml");
  EXPECT_EQ(long_name.size(), 200u);
  EXPECT_EQ(long_name, std::string(194, 'a') + ".edxml");
}

TEST_F(DropFolderTest, ExportRefusesAnEmptyName) {
  folder();
  Expected<fs::path> p = folder_->export_package("", "x");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, "folder.bad_name");
  EXPECT_TRUE(names_in(root_ / "out").empty());
}

}  // namespace
}  // namespace lienthong

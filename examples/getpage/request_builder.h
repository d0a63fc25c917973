// How curl's request options add up: -d and its kin joined with '&', -G moving them into the
// query, -H with curl's removal ("Name:") and empty-value ("Name;") forms, -A, -e, -u, and the
// Accept: */* curl sends unless told otherwise.

#ifndef DEFT_EXAMPLES_GETPAGE_REQUEST_BUILDER_H_
#define DEFT_EXAMPLES_GETPAGE_REQUEST_BUILDER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "web_client/get_page.h"

namespace getpage {

class RequestBuilder {
 public:
  enum class DataKind {
    kData,       // -d, --data, --data-ascii: @FILE and @- read, CR and LF dropped
    kBinary,     // --data-binary: @FILE and @- read as they are
    kRaw,        // --data-raw: no @ meaning
    kUrlencode,  // --data-urlencode: content, =content, name=content, @file, name@file
  };

  // Adds one data option's value; an error message when a file cannot be read.
  std::optional<std::string> addData(std::string_view value, DataKind kind);
  // -H: "Name: value" sets, "Name:" removes (curl's own headers too), "Name;" sends it empty.
  // An error message for a header that is none of these.
  std::optional<std::string> addHeader(std::string_view raw);
  void setUserAgent(std::string agent) { userAgent_ = std::move(agent); }
  void setReferer(std::string referer) { referer_ = std::move(referer); }
  void setUser(std::string user) { user_ = std::move(user); }  // -u user:password
  void setGet(bool get) { get_ = get; }                         // -G
  void setHead(bool head) { head_ = head; }                     // -I
  void setMethod(std::string method) { method_ = std::move(method); }  // -X
  void setRange(std::string range) { range_ = std::move(range); }       // -r
  // --json: data as --data-binary, with JSON's Content-Type and Accept.
  std::optional<std::string> addJson(std::string_view value);
  // -T FILE: PUT the file's contents ("-": stdin, chunked), streamed as the connection takes
  // them, after "Expect: 100-continue" as curl does; an error message when it cannot be read.
  std::optional<std::string> setUpload(std::string_view file);
  // -F 'name=value', 'name=@file;type=T;filename=F', 'name=<file' (the file's contents as a
  // field); --form-string 'name=value' (`literal`: no @ or < meaning). An error message for a
  // malformed one or a file that cannot be read.
  std::optional<std::string> addFormPart(std::string_view spec, bool literal);

  // The method, body, headers and (with -G) the URL's query of the request.
  void apply(std::string& url, deft::web::PageOptions& page) const;

 private:
  std::vector<std::string> data_;
  struct HeaderEdit {
    std::string name;
    std::optional<std::string> value;  // nullopt: remove
  };
  std::vector<HeaderEdit> headers_;
  std::optional<std::string> userAgent_;
  std::optional<std::string> referer_;
  std::optional<std::string> user_;
  std::optional<std::string> method_;
  std::optional<std::string> range_;
  std::optional<std::string> upload_;      // -T: the file ("-": stdin)
  std::string uploadName_;                 // -T: the file's name, for a URL ending in '/'
  struct FormPart {
    std::string name;
    std::string value;                    // a field's value, or the file's path
    bool file = false;                    // name=@file
    std::string type;                     // ;type=
    std::optional<std::string> filename;  // ;filename=
  };
  std::vector<FormPart> form_;  // -F, in order
  bool json_ = false;
  bool get_ = false;
  bool head_ = false;
};

// The contents of the file `name` ("-": stdin), as curl's @FILE arguments read them; nullopt
// when it cannot be read.
std::optional<std::string> readFileOrStdin(std::string_view name);

// Encodes `text` as curl's --data-urlencode does: unreserved characters kept, a space as '+',
// the rest percent-encoded.
std::string urlencode(std::string_view text);

}  // namespace getpage

#endif  // DEFT_EXAMPLES_GETPAGE_REQUEST_BUILDER_H_

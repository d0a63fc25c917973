// getpage's command line: curl's options, parsed into one Options per group of URLs (curl's
// --next starts a new group with fresh options; -s, -S, -v, -Z and --parallel-max hold for all).

#ifndef DEFT_EXAMPLES_GETPAGE_OPTIONS_H_
#define DEFT_EXAMPLES_GETPAGE_OPTIONS_H_

#include <sys/socket.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "examples/getpage/request_builder.h"
#include "web_client/agent.h"
#include "web_client/get_page.h"

namespace getpage {

// One group's options and URLs.
struct Options {
  std::vector<std::string> urls;
  // -o FILE and -O, one per URL in order: a path ("-": stdout), or "" for -O (the URL's own name).
  std::vector<std::string> outputs;
  bool remoteNameAll = false;  // --remote-name-all: -O for every URL without an -o
  std::string outputDir;       // --output-dir
  bool createDirs = false;     // --create-dirs
  std::optional<std::string> dumpHeader;  // -D FILE
  bool fail = false;          // -f: a response of 400 or more is an error (22), its body unwritten
  bool failWithBody = false;  // --fail-with-body: the same, the body written
  bool location = false;      // -L: follow redirects
  int maxRedirs = 50;
  std::optional<std::string> writeOut;  // -w
  bool globOff = false;                 // -g: no URL globbing
  std::string unixSocket;  // --unix-socket, --abstract-unix-socket (as "@name")
  std::vector<deft::web::ConnectTo> connectTo;  // --resolve, --connect-to
  std::vector<std::string> cookieFiles;         // -b FILE: Netscape cookie files to start with
  std::string cookieString;                     // -b 'NAME=VALUE; ...': sent as they are
  std::optional<std::string> cookieJarOut;      // -c FILE: the jar written there at the end
  bool junkSessionCookies = false;              // -j: session cookies from -b files dropped
  std::optional<std::string> proxy;      // -x: for every URL ("": none, not even from the environment)
  std::optional<std::string> noProxy;    // --noproxy
  std::optional<std::string> proxyUser;  // -U user:password
  int addressFamily = AF_UNSPEC;              // -4, -6
  int retries = 0;                            // --retry N
  std::optional<absl::Duration> retryDelay;   // --retry-delay S (else 1 s, doubling to 10 min)
  absl::Duration retryMaxTime = absl::InfiniteDuration();  // --retry-max-time S
  bool retryConnRefused = false;              // --retry-connrefused
  bool retryAllErrors = false;                // --retry-all-errors
  std::optional<std::string> etagSave;        // --etag-save FILE
  std::optional<std::string> etagCompare;     // --etag-compare FILE
  std::optional<std::string> timeCondition;   // -z DATE|FILE, "-DATE" for If-Unmodified-Since
  bool remoteTime = false;                    // -R: the file's time from Last-Modified
  // -C OFFSET: fetch from that byte on (a Range), appended to the file; -C - (as -1): from the
  // file's size.
  std::optional<std::int64_t> resumeFrom;
  bool includeHead = false;  // -i: the response's head before its body
  bool head = false;         // -I: HEAD, and print the head
  RequestBuilder request;
  deft::web::PageOptions page;
};

// What holds for the whole command line.
struct CommandLine {
  std::vector<Options> groups;  // at least one
  bool demo = false;            // --demo, or no URL at all
  bool silent = false;          // -s: no error lines
  bool showError = false;       // -S: error lines even with -s
  bool verbose = false;         // -v: request and response heads on stderr
  bool progressBar = false;     // -#: a bar rather than curl's table
  bool noProgressMeter = false;  // --no-progress-meter
  bool parallel = false;        // -Z
  std::size_t parallelMax = 50;  // --parallel-max (curl's default)
  bool showErrors() const { return !silent || showError; }
};

// One word of a command line and where it came from: for a config file's, "FILE:LINE", and for
// an option, how the file spelled it (for curl's warning about an option it does not know).
struct ConfigWord {
  std::string word;     // "--option" (a bare name gets its dashes), or the option's value
  std::string origin;   // "FILE:LINE"; "" for the command line's own words
  std::string written;  // the option as the file wrote it; "" for a value
};

// The words of a curl config file (-K): "option = value", "option value", "option: value",
// "--option value" or a bare option, one per line; quoted values with \\ \" \t \n escapes; '#'
// comments. nullopt when it cannot be read.
std::optional<std::vector<ConfigWord>> readConfigFile(const std::string& path);

// curl's default config file, which a command line starts with unless its first option is -q
// (--disable): the first of $CURL_HOME/.curlrc, $XDG_CONFIG_HOME/.curlrc, $HOME/.curlrc, then,
// when XDG_CONFIG_HOME is not set, $CURL_HOME/.config/curlrc (or without CURL_HOME,
// $HOME/.config/curlrc), then .curlrc in the home directory the password database gives.
// nullopt when there is none. Options in it getpage does not know are warned of and skipped.
std::optional<std::string> defaultConfigFile();

// Parses curl's arguments. nullopt after a message on stderr for a usage error (exit 2); exits
// itself for --help and for curl's own exit codes (26 for a data file it cannot read).
std::optional<CommandLine> parseCommandLine(int argc, char** argv);

}  // namespace getpage

#endif  // DEFT_EXAMPLES_GETPAGE_OPTIONS_H_

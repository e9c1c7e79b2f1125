#include "bindings/cli/report.h"

#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "io/reports/html_report.h"

namespace engram {

Status report_command(const std::string& run_dir, const std::string& out_path, std::ostream& out) {
  const std::string path =
      out_path.empty() ? (std::filesystem::path(run_dir) / "report.html").string() : out_path;
  const auto start = std::chrono::steady_clock::now();
  ReportInfo info;
  Status s = write_html_report(run_dir, path, &info);
  if (!s.ok()) return s;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out << fmt::format("report: {} ({} plots, {} images, {:.2f} s)\n", path, info.plots, info.images,
                     seconds);
  for (const std::string& note : info.notes) out << "note: " << note << "\n";
  return {};
}

}  // namespace engram

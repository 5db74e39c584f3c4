// export_dialog.hpp - choose a file, format, layout and phase for the position tables.
#pragma once

#include <cstdint>

#include <QDialog>

#include <selfextend/params.hpp>
#include <selfextend/table_writers.hpp>

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;

namespace sxplan_gui {

/// Asks where and how to write the current plan's tables. Every choice is checked with the
/// library's validate(table_request) as it changes (the dense size limit, C header int32 range);
/// OK stays disabled while the library reports an issue or no file is named.
class export_dialog : public QDialog {
  Q_OBJECT

 public:
  export_dialog(const selfextend::plan& p, std::int64_t tokens, QWidget* parent = nullptr);

  [[nodiscard]] selfextend::table_request request() const;
  [[nodiscard]] QString path() const;

 private:
  void browse();
  void path_edited();
  void changed();

  selfextend::plan plan_;
  std::int64_t tokens_;
  QLineEdit* path_ = nullptr;
  QComboBox* format_ = nullptr;
  QComboBox* layout_ = nullptr;
  QComboBox* phase_ = nullptr;
  QLabel* message_ = nullptr;
  QDialogButtonBox* buttons_ = nullptr;
};

}  // namespace sxplan_gui

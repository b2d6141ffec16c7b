// Why a file did not go in, as the server words it (English, for logs, the API and the command
// line), said in Vietnamese on the pages; a reason not listed here is shown as it came.
"use strict";

const REASONS = [
  [/^encrypted PDF/, "PDF có mật khẩu: hãy bỏ mật khẩu rồi tải lên lại"],
  [/^corrupt PDF/, "tệp PDF bị hỏng, không đọc được"],
  [/^not a readable/, "tệp bị hỏng hoặc có mật khẩu, không đọc được"],
  [/^mis-encoded/, "tệp văn bản không ở dạng UTF-8: hãy lưu lại dưới dạng UTF-8 rồi tải lên"],
  [/^empty/, "tệp trống, không có chữ"],
  [/^no text layer/, "PDF là bản quét và chức năng nhận dạng chữ (OCR) đang tắt"],
  [/^no text found/, "không tìm thấy chữ nào trong tệp"],
  [/^(scanned PDF|an image)/, "bản quét: máy chủ chưa bật hoặc chưa cài nhận dạng chữ (OCR)"],
  [/^OCR failed/, "nhận dạng chữ (OCR) không thành công"],
  [/^unsupported file type/, "loại tệp này chưa được hỗ trợ"],
  [/^too large/, "tệp quá lớn"],
  [/^took too long/, "đọc tệp quá lâu nên đã dừng"],
  [/^(unreadable|cannot read|gone before)/, "không đọc được tệp"],
  [/^nested too deeply/, "cấu trúc tệp lồng nhau quá sâu, không đọc được"],
  [/^duplicate id/, "trùng mã tài liệu với một tài liệu khác trong cùng lần tải"],
  [/^another file of the same name/, "trùng tên với một tệp khác trong cùng lần tải"],
  [/^nothing went in$/, "không tài liệu nào đọc được"],
  [/^not Vietnamese|^language/, "nội dung không phải tiếng Việt"],
];

function inVietnamese(reason) {
  for (const [pattern, said] of REASONS) if (pattern.test(reason || "")) return said;
  return reason;
}

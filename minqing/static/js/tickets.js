// 常用回复: picking a template puts its text into the step's note (after what is already typed).
document.addEventListener("change", (event) => {
  const picker = event.target.closest("select[data-reply-for]");
  if (!picker) return;
  const option = picker.selectedOptions[0];
  const note = document.getElementById(picker.dataset.replyFor);
  if (!option || !option.dataset.text || !note) return;
  const typed = note.value.trimEnd();
  note.value = typed ? `${typed}\n${option.dataset.text}` : option.dataset.text;
  picker.value = "";
  note.focus();
});

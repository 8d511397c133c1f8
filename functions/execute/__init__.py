"""The closing task of an approval: carry out what was approved, or record why not."""

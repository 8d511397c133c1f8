"""The approval task: keep the task token under the approval id, email the approver asked now."""

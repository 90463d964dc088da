DROP TABLE attachments;
DROP TABLE uploads;

DROP TABLE search_marks;

DROP TABLE user_two_factor;
